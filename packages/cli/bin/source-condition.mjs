// Module resolve hook: add the "@lab/source" condition so workspace packages resolve to src/*.ts.
export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('@lab/source') ? context.conditions : [...context.conditions, '@lab/source'];
  return next(specifier, { ...context, conditions });
}
