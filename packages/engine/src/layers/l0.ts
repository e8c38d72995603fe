import { LabError, Secret, isLabError, type Plan, type PlanMode } from '@lab/core';
import {
  applyHost,
  assessHost,
  basisOf,
  labIdentity,
  observeHost,
  planFromAssessment,
  type HostIntent,
  type LabIdentity,
} from '@lab/l0-host';
import { createPveClient, splitTokenId, type PveAuth, type PveClient } from '@lab/pve';
import type { LayerAdapter, LayerContext, ProxmoxEndpoint } from './adapter.js';

/** Basis entry naming the principal a plan was observed as; apply re-observes as the same one. */
const OBSERVER_KEY = '_site/l0/observer';

/** Admin credentials for setting up L0, from the environment (never from lab.yaml). */
export const ADMIN_ENV = {
  token: 'LAB_PVE_ADMIN_TOKEN',
  user: 'LAB_PVE_ADMIN_USER',
  password: 'LAB_PVE_ADMIN_PASSWORD',
} as const;

interface Clients {
  readonly identity: LabIdentity;
  /** The lab token itself, when the endpoint is it. */
  readonly lab: PveClient | undefined;
  /** Credentials allowed to create roles, users, ACLs, pools. */
  readonly admin: PveClient | undefined;
}

function adminAuth(env: NodeJS.ProcessEnv): PveAuth | undefined {
  const token = env[ADMIN_ENV.token];
  if (token) {
    const eq = token.lastIndexOf('=');
    const tokenId = token.slice(0, eq);
    if (eq < 0 || !splitTokenId(tokenId)) {
      throw new LabError({ code: 'LAB_PVE_CONFIG', summary: `${ADMIN_ENV.token} is not <user>@<realm>!<token>=<secret>`, hint: `export ${ADMIN_ENV.token}='root@pam!admin=<uuid>'` });
    }
    return { kind: 'token', tokenId, secret: new Secret(token.slice(eq + 1)) };
  }
  const user = env[ADMIN_ENV.user];
  const password = env[ADMIN_ENV.password];
  if (user && password) return { kind: 'ticket', username: user, password: new Secret(password) };
  return undefined;
}

/**
 * The lab token comes from `ctx.proxmox()`. Admin rights come from LAB_PVE_ADMIN_* or, when
 * the endpoint's token is not the lab token (the embedded simulator hands out its admin
 * token until L0 made the lab one), from the endpoint itself.
 */
async function connect(ctx: LayerContext): Promise<Clients> {
  const identity = labIdentity(ctx.lab.site.site);
  let endpoint: ProxmoxEndpoint | undefined;
  let endpointError: unknown;
  try {
    endpoint = await ctx.proxmox();
  } catch (err) {
    endpointError = err;
  }
  const proxmox = ctx.lab.site.site.proxmox;
  const url = endpoint?.url ?? (proxmox.mode === 'remote' ? proxmox.url : undefined);
  const fingerprint = endpoint?.fingerprint ?? (proxmox.mode === 'remote' ? proxmox.fingerprint : undefined);
  const envAdmin = adminAuth(process.env);
  if (url === undefined || (endpoint === undefined && envAdmin === undefined)) throw endpointError;
  const make = (auth: PveAuth): PveClient => {
    const client = createPveClient({ ...endpoint?.tuning, url, ...(fingerprint ? { fingerprint } : {}), auth, reporter: ctx.reporter });
    ctx.onClose(() => client.close());
    return client;
  };
  const endpointAuth: PveAuth | undefined = endpoint ? { kind: 'token', tokenId: endpoint.tokenId, secret: endpoint.tokenSecret } : undefined;
  const isLab = endpoint?.tokenId === identity.tokenId;
  const lab = isLab && endpointAuth ? make(endpointAuth) : undefined;
  // The embedded simulator also hands out its admin token, so L0 can extend the lab's own grants.
  const embeddedAdmin: PveAuth | undefined = endpoint?.admin ? { kind: 'token', tokenId: endpoint.admin.tokenId, secret: endpoint.admin.tokenSecret } : undefined;
  const admin = envAdmin ? make(envAdmin) : !isLab && endpointAuth ? make(endpointAuth) : embeddedAdmin ? make(embeddedAdmin) : undefined;
  return { identity, lab, admin };
}

function intentOf(ctx: LayerContext): HostIntent {
  // L0 is site-wide: capacity and privileges are judged for every persona of the lab.
  return { site: ctx.lab.site.site, personas: ctx.lab.personas };
}

async function secretStored(ctx: LayerContext, name: string): Promise<boolean | undefined> {
  try {
    return await ctx.secrets().has(name);
  } catch {
    return undefined;
  }
}

async function planWith(ctx: LayerContext, observer: PveClient, identity: LabIdentity, mode: PlanMode): Promise<Plan> {
  const intent = intentOf(ctx);
  const obs = await observeHost(observer, intent, { subject: identity.tokenId });
  const stored = await secretStored(ctx, identity.secretName);
  const assessment = assessHost(intent, obs, stored === undefined ? {} : { secretStored: stored });
  if (mode === 'check') {
    for (const i of assessment.items) if (i.status === 'ok') ctx.reporter.emit({ type: 'log', level: 'info', message: `✓ ${i.summary}`, address: i.address });
  }
  const plan = planFromAssessment(assessment, { mode, labVersion: ctx.labVersion, ...(stored === undefined ? {} : { secretStored: stored }) });
  return { ...plan, basis: { ...plan.basis, [OBSERVER_KEY]: observer.principal } };
}

export const l0Adapter: LayerAdapter = {
  layer: 'l0',
  description: 'Proxmox host: preflight of lab.yaml and the personas, least-privilege role/user/token, ACLs, pools, storage content',

  async plan(ctx, mode) {
    const { identity, lab, admin } = await connect(ctx);
    // `check` judges the lab token as the layers will use it; planning prefers the admin view,
    // which also sees the user, the token and its privilege separation.
    const observer = mode === 'check' ? (lab ?? admin) : (admin ?? lab);
    if (!observer) throw new LabError({ code: 'LAB_L0_ADMIN_REQUIRED', summary: 'no Proxmox credentials to check the host with', hint: `set ${ADMIN_ENV.token} or configure proxmox.tokenId/tokenSecret in lab.yaml` });
    return planWith(ctx, observer, identity, mode);
  },

  async apply(plan, ctx) {
    const { identity, lab, admin } = await connect(ctx);
    const actor = admin ?? lab;
    if (!actor) throw new LabError({ code: 'LAB_L0_ADMIN_REQUIRED', summary: 'no Proxmox credentials to apply L0 with', hint: `set ${ADMIN_ENV.token}='root@pam!<token>=<secret>'` });
    const observer = [admin, lab].find((c) => c?.principal === plan.basis[OBSERVER_KEY]) ?? actor;
    const intent = intentOf(ctx);
    const result = await applyHost(plan, {
      admin: actor,
      reporter: ctx.reporter,
      currentBasis: async () => basisOf(await observeHost(observer, intent, { subject: identity.tokenId })),
      storeSecret: (name, secret) => ctx.secrets().set(name, secret),
      verify: () => planWith(ctx, actor, identity, 'normal'),
    });
    const token = result.token;
    if (token && !token.stored && token.secret) {
      // The one place the secret is shown: it exists nowhere else and cannot be read again.
      const why = token.storeError && isLabError(token.storeError) ? token.storeError.summary : 'no secrets store is usable';
      const text =
        `\nThe secret of the new API token ${token.tokenId} could not be stored (${why}).\n` +
        `Copy it now, it is shown only once:\n\n  ${token.secret.reveal()}\n\n` +
        `Then store it: lab secret edit ${token.secretName}\n\n`;
      if (ctx.reveal) ctx.reveal(text);
      else {
        ctx.reporter.emit({
          type: 'log',
          level: 'warn',
          message: `API token ${token.tokenId} was created but its secret could not be stored (${why}) and nobody could be shown it: delete the token in Proxmox and apply L0 again where a secrets store is usable`,
        });
      }
    } else if (token?.stored) {
      ctx.reporter.emit({ type: 'log', level: 'info', message: `API token ${token.tokenId} created; its secret is stored encrypted as ${token.secretName}` });
    }
  },
};
