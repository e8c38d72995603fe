// Module resolve hook: this benchmark lives outside any workspace package, so bare imports
// (ssh2, @lab/*) are resolved as if imported from packages/l3-os, whose dependencies it uses.
const l3 = new URL('../../../packages/l3-os/package.json', import.meta.url).href;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || /^[./]|^[a-z]+:/.test(specifier)) throw error;
    return next(specifier, { ...context, parentURL: l3 });
  }
}
