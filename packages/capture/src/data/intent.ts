import type { Secret } from '@lab/core';
import { isAbsolute, resolve } from 'node:path';
import type { LoadedPersona, Site } from '@lab/intent';
import { captureError } from './errors.js';
import type { DataCaptureIntent, RepositoryAccess, RepositoryRef } from './types.js';

function repositoryRef(site: Site, root: string, name: string, persona: LoadedPersona, field: string): RepositoryRef {
  const repo = site.repositories.find((r) => r.name === name);
  if (!repo) {
    const known = site.repositories.map((r) => r.name);
    throw captureError('LAB_CAPTURE_REPOSITORY_UNKNOWN', `${persona.name}: ${field} names repository "${name}", which lab.yaml does not declare`, {
      hint: known.length > 0 ? `use one of: ${known.join(', ')} (lab.yaml repositories)` : 'declare it in lab.yaml under repositories: (type local with a path, or sftp with a url)',
    });
  }
  const location =
    repo.type === 'local'
      ? { type: 'local' as const, path: isAbsolute(repo.path!) ? repo.path! : resolve(root, repo.path!) }
      : { type: 'sftp' as const, url: repo.url! };
  return { name: repo.name, location, passwordSecret: repo.password.secret };
}

/**
 * A persona's data capture as the data operations need it: repositories resolved against
 * lab.yaml (a local path made absolute against the lab root), the stacks to pause (the listed
 * ones, or every stack of the persona) and where L4 keeps them. Pure.
 */
export function dataCaptureIntent(site: Site, root: string, persona: LoadedPersona): DataCaptureIntent {
  const c = persona.persona.capture;
  if (!c || c.paths.length === 0) {
    throw captureError('LAB_CAPTURE_NOT_DECLARED', `persona ${persona.name} declares no data to capture`, {
      hint: `add capture: { repository: <name>, paths: [/srv/...] } to ${persona.file}`,
    });
  }
  const w = persona.persona.workloads;
  const all = w.stacks.map((s) => s.name);
  const listed = c.consistency.stacks;
  return {
    persona: persona.name,
    repository: repositoryRef(site, root, c.repository, persona, 'capture.repository'),
    ...(c.replicate ? { replicate: repositoryRef(site, root, c.replicate.repository, persona, 'capture.replicate.repository') } : {}),
    paths: [...c.paths],
    exclude: [...c.exclude],
    retention: { ...c.retention },
    consistency: {
      strategy: c.consistency.strategy,
      ...(c.consistency.pre !== undefined ? { pre: c.consistency.pre } : {}),
      ...(c.consistency.post !== undefined ? { post: c.consistency.post } : {}),
      timeoutS: c.consistency.timeout,
    },
    workload: {
      composeCommand: w.composeCommand,
      stacksDir: w.stacksDir,
      // Start order is the persona's stack order, which is also the order L4 brings them up in.
      stacks: listed.length > 0 ? all.filter((s) => listed.includes(s)).concat(listed.filter((s) => !all.includes(s))) : all,
    },
    drillScope: c.restoreDrill?.scope ?? 'files',
  };
}

/** A repository with its password, once the caller has read the secret `ref.passwordSecret`. */
export function repositoryAccess(ref: RepositoryRef, password: Secret<string>): RepositoryAccess {
  return { name: ref.name, location: ref.location, password };
}
