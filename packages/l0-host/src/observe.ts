import {
  apiPath,
  isPveError,
  pveArray,
  pveBool,
  pveFeatures,
  pveList,
  pveNumber,
  pveRecord,
  pveString,
  type PveClient,
  type PveVersion,
} from '@lab/pve';
import { toLabError } from '@lab/core';
import { hostRequirements, type HostIntent } from './requirements.js';

/** A read that failed; the check that needed it reports it instead of guessing. */
export interface ObservedError {
  readonly error: { readonly code: string; readonly summary: string; readonly hint?: string };
}

export interface ObservedNode {
  readonly name: string;
  readonly status: string;
  readonly maxcpu?: number;
  readonly maxmem?: number;
}

export interface ObservedStorageConfig {
  readonly name: string;
  readonly type: string;
  readonly content: readonly string[];
  readonly nodes?: readonly string[];
  readonly shared: boolean;
  readonly disabled: boolean;
  readonly digest?: string;
}

export interface ObservedStorageStatus {
  readonly name: string;
  readonly active: boolean;
  readonly enabled: boolean;
  readonly total?: number;
  readonly avail?: number;
}

export interface ObservedBridge {
  readonly name: string;
  readonly vlanAware: boolean;
  readonly active: boolean;
}

/**
 * What L0 saw, as plain JSON (fixtures for the pure planner are files of this shape).
 * `undefined` means "could not be read with the observer's rights", never "absent".
 */
export interface HostObservation {
  readonly url: string;
  /** Principal whose rights the reads used. */
  readonly observer: string;
  /** The lab token whose privileges are checked. */
  readonly subject: string;
  readonly reachable: true | ObservedError;
  readonly version?: PveVersion;
  readonly nodes?: readonly ObservedNode[];
  readonly storageConfig?: readonly ObservedStorageConfig[] | ObservedError;
  /** Per node: storage status rows, or why they could not be read (node down → 595). */
  readonly storageStatus: Readonly<Record<string, readonly ObservedStorageStatus[] | ObservedError>>;
  readonly networks: Readonly<Record<string, readonly ObservedBridge[] | ObservedError>>;
  /** Per node: whether the observer sees every bridge (Sys.Audit on the node). */
  readonly networkVisible: Readonly<Record<string, boolean>>;
  /** The subject's effective privileges per required path. */
  readonly permissions?: Readonly<Record<string, readonly string[]>>;
  /** Custom and built-in roles → privileges. */
  readonly roles?: Readonly<Record<string, readonly string[]>>;
  readonly userExists?: boolean;
  readonly token?: { readonly exists: boolean; readonly privsep?: boolean };
  /** Pools the observer can see, and whether it can see all required ones. */
  readonly pools?: readonly string[];
  readonly poolsVisible: Readonly<Record<string, boolean>>;
}

export interface ObserveOptions {
  /** Token id of the lab (`lab@pve!lab`); its privileges are what L0 checks. */
  readonly subject: string;
}

function failed(err: unknown): ObservedError {
  const e = toLabError(err, 'LAB_PVE_API');
  return { error: { code: e.code, summary: e.summary, ...(e.hint ? { hint: e.hint } : {}) } };
}

export function isObservedError(value: unknown): value is ObservedError {
  return typeof value === 'object' && value !== null && 'error' in value;
}

async function attempt<T>(fn: () => Promise<T>): Promise<T | ObservedError> {
  try {
    return await fn();
  } catch (err) {
    return failed(err);
  }
}

/**
 * Read everything L0 decides on, with the observer's rights: version, nodes, storages
 * (config and per-node status), bridges, the subject's effective privileges on every path the
 * lab needs, roles, the lab user and token, pools. Only an unreachable or refusing API stops
 * early; every other failed read is recorded for the check that needs it.
 */
export async function observeHost(client: PveClient, intent: HostIntent, options: ObserveOptions): Promise<HostObservation> {
  const base = { url: client.origin, observer: client.principal, subject: options.subject, storageStatus: {}, networks: {}, networkVisible: {}, poolsVisible: {} };
  let version: PveVersion;
  try {
    version = await client.version();
  } catch (err) {
    return { ...base, reachable: failed(err) };
  }
  const req = hostRequirements(intent, pveFeatures(version));
  const self = client.principal === options.subject;

  const nodesRaw = await attempt(() => client.get('/nodes'));
  const nodes: ObservedNode[] = isObservedError(nodesRaw)
    ? []
    : pveArray(nodesRaw).map((row) => {
        const r = pveRecord(row);
        const maxcpu = pveNumber(r['maxcpu']);
        const maxmem = pveNumber(r['maxmem']);
        return { name: pveString(r['node']) ?? '', status: pveString(r['status']) ?? 'unknown', ...(maxcpu === undefined ? {} : { maxcpu }), ...(maxmem === undefined ? {} : { maxmem }) };
      });
  const online = new Set(nodes.filter((n) => n.status === 'online').map((n) => n.name));
  const wanted = req.nodes.filter((n) => online.has(n));

  const permsOf = async (path: string, userid?: string): Promise<string[] | undefined> => {
    const res = await attempt(() => client.get('/access/permissions', { path, ...(userid ? { userid } : {}) }));
    if (isObservedError(res)) return undefined;
    return Object.keys(pveRecord(pveRecord(res)[path] ?? Object.values(pveRecord(res))[0])).sort();
  };

  const storageConfig = await attempt(async () =>
    pveArray(await client.get('/storage')).map((row): ObservedStorageConfig => {
      const r = pveRecord(row);
      const nodesList = pveString(r['nodes']);
      const digest = pveString(r['digest']);
      return {
        name: pveString(r['storage']) ?? '',
        type: pveString(r['type']) ?? '',
        content: pveList(r['content']).sort(),
        ...(nodesList ? { nodes: pveList(nodesList) } : {}),
        shared: pveBool(r['shared']) ?? false,
        disabled: pveBool(r['disable']) ?? false,
        ...(digest ? { digest } : {}),
      };
    }),
  );

  const storageStatus: Record<string, readonly ObservedStorageStatus[] | ObservedError> = {};
  const networks: Record<string, readonly ObservedBridge[] | ObservedError> = {};
  const networkVisible: Record<string, boolean> = {};
  await Promise.all(
    wanted.map(async (node) => {
      storageStatus[node] = await attempt(async () =>
        pveArray(await client.get(apiPath('nodes', node, 'storage'))).map((row): ObservedStorageStatus => {
          const r = pveRecord(row);
          const total = pveNumber(r['total']);
          const avail = pveNumber(r['avail']);
          return {
            name: pveString(r['storage']) ?? '',
            active: pveBool(r['active']) ?? false,
            enabled: pveBool(r['enabled']) ?? false,
            ...(total === undefined ? {} : { total }),
            ...(avail === undefined ? {} : { avail }),
          };
        }),
      );
      networks[node] = await attempt(async () =>
        pveArray(await client.get(apiPath('nodes', node, 'network'), { type: 'any_bridge' })).map((row): ObservedBridge => {
          const r = pveRecord(row);
          return { name: pveString(r['iface']) ?? '', vlanAware: pveBool(r['bridge_vlan_aware']) ?? false, active: pveBool(r['active']) ?? false };
        }),
      );
      networkVisible[node] = (await permsOf(`/nodes/${node}`))?.includes('Sys.Audit') ?? false;
    }),
  );

  const paths = [...new Set(req.privileges.map((p) => p.path))];
  const permissionEntries = await Promise.all(paths.map(async (p) => [p, await permsOf(p, self ? undefined : options.subject)] as const));
  const permissions = permissionEntries.every(([, v]) => v !== undefined) ? Object.fromEntries(permissionEntries as (readonly [string, string[]])[]) : undefined;

  const rolesRaw = await attempt(() => client.get('/access/roles'));
  const roles = isObservedError(rolesRaw) ? undefined : Object.fromEntries(pveArray(rolesRaw).map((row) => [pveString(pveRecord(row)['roleid']) ?? '', pveList(pveRecord(row)['privs']).sort()]));

  const { userExists, token } = await observeAccount(client, options.subject, self);

  const poolsRaw = await attempt(() => client.get('/pools'));
  const pools = isObservedError(poolsRaw) ? undefined : pveArray(poolsRaw).map((row) => pveString(pveRecord(row)['poolid']) ?? '');
  const poolsVisible: Record<string, boolean> = {};
  for (const p of req.pools) poolsVisible[p] = (self ? permissions?.[`/pool/${p}`] : await permsOf(`/pool/${p}`))?.includes('Pool.Audit') ?? false;

  return {
    ...base,
    reachable: true,
    version,
    nodes,
    storageConfig,
    storageStatus,
    networks,
    networkVisible,
    ...(permissions ? { permissions } : {}),
    ...(roles ? { roles } : {}),
    ...(userExists === undefined ? {} : { userExists }),
    ...(token ? { token } : {}),
    ...(pools ? { pools } : {}),
    poolsVisible,
  };
}

/** The lab user and token; a token observing itself exists by definition. */
async function observeAccount(client: PveClient, subject: string, self: boolean): Promise<{ userExists?: boolean; token?: { exists: boolean; privsep?: boolean } }> {
  if (self) return { userExists: true, token: { exists: true } };
  const bang = subject.lastIndexOf('!');
  const user = subject.slice(0, bang);
  const name = subject.slice(bang + 1);
  const absent = (err: unknown): boolean | undefined => (isPveError(err, 'LAB_PVE_NOT_FOUND') ? false : undefined);
  let userExists: boolean | undefined;
  try {
    await client.get(apiPath('access', 'users', user));
    userExists = true;
  } catch (err) {
    userExists = absent(err);
  }
  if (userExists === false) return { userExists, token: { exists: false } };
  try {
    const t = pveRecord(await client.get(apiPath('access', 'users', user, 'token', name)));
    const privsep = pveBool(t['privsep']);
    return { ...(userExists === undefined ? {} : { userExists }), token: { exists: true, ...(privsep === undefined ? {} : { privsep }) } };
  } catch (err) {
    const exists = absent(err);
    return { ...(userExists === undefined ? {} : { userExists }), ...(exists === undefined ? {} : { token: { exists } }) };
  }
}
