import { isSecret, type Secret } from '@lab/core';
import type { L3Intent } from '../intent.js';

/** Every secret an intent carries, so remote output can be redacted before anyone sees it. */
export function intentSecrets(intent: L3Intent): Secret<string>[] {
  const out: Secret<string>[] = [];
  for (const f of intent.files) if (f.content !== undefined && isSecret(f.content)) out.push(f.content);
  for (const u of intent.users) if (u.passwordHash) out.push(u.passwordHash);
  for (const m of intent.mounts) if (m.credentials) out.push(m.credentials);
  return out;
}
