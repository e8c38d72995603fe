import type { Sim } from '../engine/sim.js';
import type { ObjectSchema } from '../schema/_types.js';
import type { RawParams } from './_params.js';
import { normalizePath, ROOT } from '../access/acl.js';
import { ApiError, permError } from './_errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type PermExpr =
  | readonly ['perm', string, readonly string[], { readonly any?: boolean; readonly requireParam?: string }?]
  | readonly ['and', ...PermExpr[]]
  | readonly ['or', ...PermExpr[]]
  | readonly ['perm-modify', string]
  | readonly ['userid-param', 'self']
  | readonly ['userid-group', readonly string[]];

/** A method's `permissions` block: any user, no user, a check expression, or root only. */
export type Permissions = { readonly user: 'all' } | { readonly user: 'world' } | { readonly check: PermExpr } | 'root';

/** Validated parameters: scalars as PVE strings, arrays for array-typed parameters. */
export type Params = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface HandlerContext {
  readonly sim: Sim;
  /** The authenticated principal: `user@realm` or `user@realm!token`. */
  readonly principal: string;
  readonly isToken: boolean;
  readonly params: Params;
  /** The node the path addresses (`localhost` resolved). */
  readonly node: string;
  /** Set `total`/`changes` result attributes. */
  readonly attrs: { total?: number; changes?: string };
  readonly request: { readonly method: Method; readonly path: string };
}

export interface Route {
  readonly method: Method;
  /** Path template below `/api2/json`, e.g. `/nodes/{node}/qemu/{vmid}/config`. */
  readonly path: string;
  readonly params?: ObjectSchema;
  /** Fixed, or per release (e.g. the guest-agent privileges of 8.x and 9.x). */
  readonly permissions: Permissions | ((sim: Sim) => Permissions);
  /** PVE's `allowtoken`; false for `/access/ticket`-like endpoints. Default true. */
  readonly allowToken?: boolean;
  /** Path parameter that swallows the rest of the path (PVE's `fragmentDelimiter => ''`). */
  readonly greedy?: string;
  readonly handler: (ctx: HandlerContext) => unknown;
}

interface Node {
  readonly literal: Map<string, Node>;
  param?: { readonly name: string; readonly child: Node; readonly greedy: boolean };
  readonly methods: Map<Method, Route>;
}

function newNode(): Node {
  return { literal: new Map(), methods: new Map() };
}

/** PVE's path → handler map: literal segments beat placeholders, empty segments are ignored. */
export class Router {
  private readonly root = newNode();

  add(route: Route): void {
    let node = this.root;
    for (const seg of route.path.split('/').filter((s) => s.length > 0)) {
      const m = /^\{(.+)\}$/.exec(seg);
      if (m) {
        const name = m[1]!;
        if (!node.param) node.param = { name, child: newNode(), greedy: route.greedy === name };
        else if (node.param.name !== name) throw new Error(`conflicting placeholder {${name}} in ${route.path}`);
        node = node.param.child;
      } else {
        let next = node.literal.get(seg);
        if (!next) {
          next = newNode();
          node.literal.set(seg, next);
        }
        node = next;
      }
    }
    node.methods.set(route.method, route);
  }

  addAll(routes: readonly Route[]): void {
    for (const r of routes) this.add(r);
  }

  match(method: Method, path: string): { route: Route; uriParams: Record<string, string> } | undefined {
    const segs = path.split('/').filter((s) => s.length > 0);
    const uriParams: Record<string, string> = {};
    const found = this.walk(this.root, segs, 0, uriParams);
    if (!found) return undefined;
    const route = found.methods.get(method);
    return route ? { route, uriParams } : undefined;
  }

  private walk(node: Node, segs: string[], i: number, out: Record<string, string>): Node | undefined {
    if (i === segs.length) return node;
    const seg = segs[i]!;
    const lit = node.literal.get(seg);
    if (lit) {
      const r = this.walk(lit, segs, i + 1, out);
      if (r) return r;
    }
    if (node.param) {
      if (node.param.greedy) {
        out[node.param.name] = segs.slice(i).join('/');
        return node.param.child;
      }
      out[node.param.name] = seg;
      const r = this.walk(node.param.child, segs, i + 1, out);
      if (r) return r;
      delete out[node.param.name];
    }
    return undefined;
  }
}

function templateReplace(tmpl: string, params: RawParams): string {
  return tmpl.replace(/\{([^}]+)\}/g, (_m, k: string) => {
    const v = params[k];
    return v === undefined || v === null ? '' : String(v);
  });
}

function execCheck(sim: Sim, expr: PermExpr, principal: string, params: RawParams, noerr: boolean): boolean {
  const [test] = expr;
  if (test === 'and') {
    for (const sub of expr.slice(1) as PermExpr[]) execCheck(sim, sub, principal, params, false);
    return true;
  }
  if (test === 'or') {
    for (const sub of expr.slice(1) as PermExpr[]) if (execCheck(sim, sub, principal, params, true)) return true;
    if (noerr) return false;
    permError();
  }
  if (test === 'perm-modify') {
    const path = normalizePath(templateReplace(expr[1], params));
    const privs = ['Permissions.Modify'];
    if (/^\/storage\/.+$/.test(path)) privs.push('Datastore.Allocate');
    else if (/^\/vms\/.+$/.test(path)) privs.push('VM.Allocate');
    else if (/^\/pool\/.+$/.test(path)) privs.push('Pool.Allocate');
    if (noerr) return sim.access.has(principal, path, privs, true);
    sim.access.checkAny(principal, path, privs);
    return true;
  }
  if (test === 'userid-param') {
    const userid = String(params['userid'] ?? '');
    if (!sim.state.access.users[userid]) {
      if (noerr) return false;
      throw new ApiError(500, `no such user ('${userid}')\n`);
    }
    if (principal === userid) return true;
    if (noerr) return false;
    permError();
  }
  if (test === 'userid-group') {
    if (sim.access.has(principal, '/access/groups', expr[1], true)) return true;
    if (noerr) return false;
    permError(`/access/groups, ${expr[1].join('|')}`);
  }
  const [, tmpl, privs, opts] = expr as Extract<PermExpr, readonly ['perm', ...unknown[]]>;
  if (opts?.requireParam && (params[opts.requireParam] === undefined || params[opts.requireParam] === null)) {
    if (noerr) return false;
    permError();
  }
  const path = normalizePath(templateReplace(tmpl, params));
  if (noerr) return sim.access.has(principal, path, privs, opts?.any ?? false);
  if (opts?.any) sim.access.checkAny(principal, path, privs);
  else sim.access.check(principal, path, privs);
  return true;
}

/** `check_api2_permissions`, evaluated before parameter validation like PVE does. */
export function checkApiPermissions(sim: Sim, perms: Permissions, principal: string | undefined, params: RawParams): void {
  if (!principal) {
    if (perms !== 'root' && 'user' in perms && perms.user === 'world') return;
    permError('user != null');
  }
  if (principal === ROOT) return;
  if (perms === 'root') permError('user != root@pam');
  if ('user' in perms) return;
  execCheck(sim, perms.check, principal, params, false);
}
