import { shq } from '@lab/ssh';
import { pathFact, type PathInfo } from '../facts/files.js';
import { splitLines } from './_text.js';
import { impactOf, writtenPath } from './files.js';
import { makeChange, result, type HandlerId, type OpContext, type Operation, type Step } from './operation.js';

/** Where pending handlers live on the guest, one per line, until they ran successfully. */
export const PENDING_FILE = '/var/lib/lab/pending-handlers';
export const pendingFact = pathFact(PENDING_FILE);

const HANDLER = /^(restart|reload):[A-Za-z0-9@_.:\\-]+$/;

export function isHandlerId(text: string): text is HandlerId {
  return HANDLER.test(text);
}

export function pendingHandlers(info: PathInfo): HandlerId[] {
  if (!info.exists || info.content === undefined) return [];
  return [...new Set(splitLines(info.content).map((l) => l.trim()).filter(isHandlerId))];
}

/** The pending file as it will read once `added` were recorded (for planning). */
export function withPending(info: PathInfo, added: readonly HandlerId[]): PathInfo {
  const current = pendingHandlers(info);
  const next = [...current, ...added.filter((h) => !current.includes(h))];
  if (next.length === current.length) return info;
  return writtenPath(`${next.join('\n')}\n`, { mode: '0644', owner: 'root', group: 'root' }, true);
}

/**
 * Runs every pending handler, last in the apply. A handler is removed from the file only after
 * it succeeded, so one that failed — or never ran because the previous apply died — runs on
 * the next apply.
 */
export function handlersOp(ctx: OpContext): Operation {
  return {
    id: 'handlers',
    facts: [pendingFact],
    plan(facts) {
      const pending = pendingHandlers(facts.get(pendingFact));
      if (pending.length === 0) return result([]);
      const steps: Step[] = pending.map((h) => ({ kind: 'shell', description: h.replace(':', ' '), script: `lab_handler ${shq(h)}` }));
      const changes = pending.map((h, i) =>
        makeChange(ctx, 'handler', h, { action: 'update', impact: impactOf([h]), reason: 'pending on the guest: a change it depends on was made', steps: [steps[i]!] }),
      );
      return result(changes, steps, { predicts: [[pendingFact, { exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', content: '' }]] });
    },
  };
}
