import { LabError, Secret } from '@lab/core';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export type TemplateValue = string | number | boolean | Secret<string>;

/**
 * Render `{{ name }}` placeholders. Nothing else is special (no escaping, no logic), so config
 * files render exactly as written. If any secret is used, the result is a Secret as a whole.
 */
export function renderTemplate(text: string, variables: Readonly<Record<string, TemplateValue>>, where: string): string | Secret<string> {
  let secret = false;
  const missing = new Set<string>();
  const out = text.replace(PLACEHOLDER, (_, name: string) => {
    const v = variables[name];
    if (v === undefined) {
      missing.add(name);
      return '';
    }
    if (v instanceof Secret) {
      secret = true;
      return v.reveal();
    }
    return String(v);
  });
  if (missing.size > 0) {
    throw new LabError({
      code: 'LAB_L3_TEMPLATE',
      summary: `${where}: template uses undefined variable(s) ${[...missing].map((m) => `{{ ${m} }}`).join(', ')}`,
      hint: `add them under variables: (defined: ${Object.keys(variables).join(', ') || 'none'})`,
    });
  }
  return secret ? new Secret(out) : out;
}
