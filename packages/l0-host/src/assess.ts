import { createHash } from 'node:crypto';
import { pveFeatures } from '@lab/pve';
import { checkCapacity, type NodeBudget } from './capacity.js';
import { checkApi, checkBridges, checkNodes, checkPrivileges, checkStorages } from './checks.js';
import { labIdentity, type LabIdentity } from './identity.js';
import type { HostItem } from './item.js';
import type { HostObservation } from './observe.js';
import { hostRequirements, type HostIntent, type HostRequirements } from './requirements.js';
import { accountItems, aclItems, poolItems, roleItems } from './setup.js';

export interface AssessOptions {
  /** Whether the lab token's secret is in the secrets store (undefined: not asked). */
  readonly secretStored?: boolean;
}

export interface HostAssessment {
  readonly identity: LabIdentity;
  readonly requirements?: HostRequirements;
  readonly items: readonly HostItem[];
  /** Digest of the observed state the setup changes depend on (the plan basis). */
  readonly basis: string;
}

/**
 * Everything L0 concludes from intent and one observation: the findings, in report order
 * (API, nodes, storages, bridges, capacity, then the setup: roles, user, token, pools, ACLs,
 * privileges). Pure: fixture in, items out.
 */
export function assessHost(intent: HostIntent, obs: HostObservation, options: AssessOptions = {}): HostAssessment {
  const identity = labIdentity(intent.site);
  const features = obs.version ? pveFeatures(obs.version) : undefined;
  const api = checkApi(obs, features);
  if (api.status === 'fail' || !features) return { identity, items: [api], basis: basisOf(obs) };

  const req = hostRequirements(intent, features);
  const declared = new Map<string, NodeBudget>(intent.site.nodes.map((n) => [n.name, { cores: n.cores, memory: n.memory }]));
  const online = new Set((obs.nodes ?? []).filter((n) => n.status === 'online').map((n) => n.name));
  const items: HostItem[] = [
    api,
    ...checkNodes(req, obs, declared),
    ...checkStorages(req, obs, features, online),
    ...checkBridges(req, obs, online),
    ...checkCapacity(req, obs, declared, online),
    ...roleItems(req, obs),
    ...accountItems(identity, obs, options.secretStored),
    ...poolItems(req, obs),
    ...aclItems(req, identity, obs),
    ...checkPrivileges(req, obs),
  ];
  return { identity, requirements: req, items, basis: basisOf(obs) };
}

/** sha256 over what the setup changes were computed from; a moved basis makes a saved plan stale. */
export function basisOf(obs: HostObservation): string {
  const setup = {
    version: obs.version?.version,
    roles: obs.roles,
    userExists: obs.userExists,
    token: obs.token,
    pools: [...(obs.pools ?? [])].sort(),
    permissions: obs.permissions,
    storage: Array.isArray(obs.storageConfig) ? obs.storageConfig.map((s) => [s.name, s.type, s.content]) : undefined,
  };
  return createHash('sha256').update(JSON.stringify(canonical(setup))).digest('hex');
}

/** Objects with sorted keys, so the digest does not depend on PVE's hash order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}
