import { hasChanges, LabError, runStep, Secret, type Change, type Plan, type Reporter } from '@lab/core';
import { ALREADY_EXISTS, apiPath, isPveError, pveRecord, pveString, type PveClient } from '@lab/pve';
import { L0_BASIS_KEY } from './plan.js';

/** Order in which setup changes run: what an ACL names must exist first. */
const ORDER = ['role', 'user', 'token', 'pool', 'storage', 'acl'] as const;

export interface ApplyHostContext {
  /** A client with admin rights (User.Modify, Permissions.Modify, Sys.Modify, Pool.Allocate, Datastore.Allocate). */
  readonly admin: PveClient;
  readonly reporter: Reporter;
  /** Current basis digest of the world, computed the way the plan's was (same observer). */
  readonly currentBasis: () => Promise<string>;
  /** Writes the new token secret to the encrypted store; absent or failing → returned once instead. */
  readonly storeSecret?: (name: string, secret: Secret<string>) => Promise<void>;
  /** Re-plans after applying; must show no pending change. */
  readonly verify: () => Promise<Plan>;
}

export interface CreatedToken {
  readonly tokenId: string;
  readonly secretName: string;
  /** True when the secret went to the secrets store. */
  readonly stored: boolean;
  /** Only when it could not be stored: print it once, never log it. */
  readonly secret?: Secret<string>;
  readonly storeError?: LabError;
}

export interface ApplyHostResult {
  readonly applied: readonly Change[];
  readonly token?: CreatedToken;
  /** The plan computed after applying (no pending changes). */
  readonly verification: Plan;
}

type After = Readonly<Record<string, unknown>>;

function adminRequired(err: unknown, principal: string): never {
  if (isPveError(err, 'LAB_PVE_PERMISSION')) {
    throw new LabError({
      code: 'LAB_L0_ADMIN_REQUIRED',
      summary: `${principal} may not set up the lab on Proxmox: ${err.summary}`,
      hint: 'apply L0 with admin credentials: LAB_PVE_ADMIN_TOKEN=root@pam!<token>=<secret> (or LAB_PVE_ADMIN_USER/LAB_PVE_ADMIN_PASSWORD) lab apply --layer l0',
      cause: err,
    });
  }
  throw err;
}

async function createOnce(admin: PveClient, path: string, params: Readonly<Record<string, string | number | boolean | undefined>>): Promise<'created' | 'existed'> {
  try {
    const res = await admin.mutate('POST', path, params, { alreadyDone: ALREADY_EXISTS });
    return res.status === 'done' ? 'created' : 'existed';
  } catch (err) {
    // Another run (or a person) made it between plan and apply: the desired state holds.
    if (isPveError(err, 'LAB_PVE_CONFLICT')) return 'existed';
    throw err;
  }
}

async function applyChange(admin: PveClient, change: Change, ctx: ApplyHostContext): Promise<CreatedToken | undefined> {
  const a = (change.after ?? {}) as After;
  const s = (k: string): string => String(a[k]);
  switch (change.kind) {
    case 'role': {
      const privs = (a['privs'] as string[]).join(',');
      if (change.action === 'create' && (await createOnce(admin, '/access/roles', { roleid: s('roleid'), privs })) === 'created') return undefined;
      await admin.put(apiPath('access', 'roles', s('roleid')), { privs }, { resend: 'idempotent' });
      return undefined;
    }
    case 'user':
      await createOnce(admin, '/access/users', { userid: s('userid'), comment: s('comment') });
      return undefined;
    case 'token': {
      const path = apiPath('access', 'users', s('userid'), 'token', s('tokenid'));
      if (change.action === 'update') {
        await admin.put(path, { privsep: true }, { resend: 'idempotent' });
        return undefined;
      }
      // Never resent: a lost answer would be a token whose secret nobody knows.
      const res = pveRecord(await admin.post(path, { privsep: true, comment: 'lab automation (layer L0)' }, { resend: 'safe' }));
      const value = pveString(res['value']);
      const tokenId = pveString(res['full-tokenid']) ?? `${s('userid')}!${s('tokenid')}`;
      if (!value) throw new LabError({ code: 'LAB_L0_TOKEN_SECRET', summary: `Proxmox created ${tokenId} but returned no secret`, hint: `remove it (\`pveum user token remove ${s('userid')} ${s('tokenid')}\`) and apply again` });
      const secret = new Secret(value);
      const secretName = s('secretName');
      if (!ctx.storeSecret) return { tokenId, secretName, stored: false, secret };
      try {
        await ctx.storeSecret(secretName, secret);
        return { tokenId, secretName, stored: true };
      } catch (err) {
        return { tokenId, secretName, stored: false, secret, storeError: err instanceof LabError ? err : new LabError({ code: 'LAB_L0_TOKEN_SECRET', summary: `could not store ${secretName}`, cause: err }) };
      }
    }
    case 'pool':
      await createOnce(admin, '/pools', { poolid: s('poolid'), comment: s('comment') });
      return undefined;
    case 'storage':
      await admin.put(apiPath('storage', s('storage')), { content: (a['content'] as string[]).join(','), ...(a['digest'] ? { digest: s('digest') } : {}) });
      return undefined;
    case 'acl':
      await admin.put(
        '/access/acl',
        { path: s('path'), roles: (a['roles'] as string[]).join(','), users: (a['users'] as string[]).join(','), tokens: (a['tokens'] as string[]).join(','), propagate: a['propagate'] === true },
        { resend: 'idempotent' },
      );
      return undefined;
    default:
      throw new LabError({ code: 'LAB_PLAN_INVALID', summary: `L0 cannot apply a change of kind '${change.kind}'`, address: change.address, hint: 'make a new plan with this version of lab' });
  }
}

/**
 * Apply an L0 plan with admin credentials: refuse it when the world moved since it was made,
 * run its changes in dependency order (idempotently: "already exists" counts as done), put a
 * new token's secret into the secrets store, then re-plan to prove nothing is left to do.
 */
export async function applyHost(plan: Plan, ctx: ApplyHostContext): Promise<ApplyHostResult> {
  const planned = plan.basis[L0_BASIS_KEY];
  if (planned !== undefined && hasChanges(plan)) {
    const now = await ctx.currentBasis();
    if (now !== planned) {
      throw new LabError({ code: 'LAB_PLAN_STALE', summary: 'the L0 plan is stale: Proxmox changed since it was made', hint: 'make a new plan: `lab plan --layer l0`' });
    }
  }
  const pending = plan.changes.filter((c) => c.layer === 'l0' && c.action !== 'noop');
  pending.sort((x, y) => ORDER.indexOf(x.kind as (typeof ORDER)[number]) - ORDER.indexOf(y.kind as (typeof ORDER)[number]));
  let token: CreatedToken | undefined;
  const applied: Change[] = [];
  for (const change of pending) {
    const title = `${change.action} ${change.address}`;
    const made = await runStep(ctx.reporter, title, () => applyChange(ctx.admin, change, ctx).catch((err: unknown) => adminRequired(err, ctx.admin.principal)), { address: change.address });
    if (made) token = made;
    applied.push(change);
  }
  const verification = await ctx.verify();
  const left = verification.changes.filter((c) => c.action !== 'noop');
  if (left.length > 0) {
    throw new LabError({
      code: 'LAB_L0_NOT_CONVERGED',
      summary: `after applying, L0 still plans ${left.length} change${left.length === 1 ? '' : 's'}: ${left.map((c) => c.address).join(', ')}`,
      hint: 'something outside lab changes these objects, or the admin credentials lack a privilege; run `lab plan --layer l0 --verbose`',
      diagnostics: verification.diagnostics,
    });
  }
  return { applied, ...(token ? { token } : {}), verification };
}
