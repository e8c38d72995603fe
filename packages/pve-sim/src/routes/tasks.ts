import type { Route } from '../http/_router.js';
import { paramError } from '../http/_errors.js';
import { bool, int, opt, std, str } from '../schema/std.js';
import { p, pBool, pInt, req } from './_helpers.js';
import type { Sim } from '../engine/sim.js';
import type { TaskRecord } from '../state/model.js';
import { decodeUpid, splitTaskUser } from '../engine/upid.js';
import { splitList } from '../util/_list.js';

/** A token sees only its own tasks; a user sees its own and its tokens' tasks. */
function ownsTask(task: TaskRecord, principal: string): boolean {
  const { user, tokenid } = splitTaskUser(task.user);
  if (tokenid !== undefined) return principal === task.user || principal === user;
  return principal === user;
}

function taskFields(t: TaskRecord): Record<string, unknown> {
  const { user, tokenid } = splitTaskUser(t.user);
  return {
    upid: t.upid,
    node: t.node,
    pid: t.pid,
    pstart: t.pstart,
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    user,
    ...(tokenid !== undefined ? { tokenid } : {}),
  };
}

function statusType(status: string | undefined): 'ok' | 'warning' | 'error' | 'unknown' {
  if (status === undefined) return 'unknown';
  if (status === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(status)) return 'warning';
  if (status === 'unexpected status') return 'unknown';
  return 'error';
}

function lookup(sim: Sim, raw: string): TaskRecord {
  const upid = decodeUpid(raw);
  if (!upid) paramError({ upid: 'unable to parse worker upid' });
  const task = sim.tasks.get(raw);
  if (!task) paramError({ upid: 'no such task' });
  if (sim.faults.taskStatusDelayMs > 0 && sim.tasks.ageMs(task.upid) < sim.faults.taskStatusDelayMs) {
    paramError({ upid: 'no such task' });
  }
  return task;
}

export const taskRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    permissions: { user: 'all' },
    params: {
      node: std.node,
      start: opt(int({ minimum: 0, default: 0 })),
      limit: opt(int({ minimum: 0, default: 50 })),
      userfilter: opt(str()),
      typefilter: opt(str()),
      vmid: opt(std.vmid),
      errors: opt(bool({ default: 0 })),
      source: opt(str({ enum: ['archive', 'active', 'all'], default: 'archive' })),
      since: opt(int()),
      until: opt(int()),
      statusfilter: opt(str({ format: 'pve-task-status-type-list' })),
    },
    handler: ({ sim, node, principal, params, attrs }) => {
      const start = pInt(params, 'start') ?? 0;
      let limit = pInt(params, 'limit') ?? 50;
      const source = p(params, 'source') ?? 'archive';
      const errors = pBool(params, 'errors') ?? false;
      let statusfilter: Record<string, boolean> = { ok: true, warning: true, error: true, unknown: true };
      if (p(params, 'statusfilter') !== undefined && !errors) {
        statusfilter = { ok: false, warning: false, error: false, unknown: false };
        for (const f of splitList(p(params, 'statusfilter'))) statusfilter[f.toLowerCase()] = true;
      } else if (errors) statusfilter['ok'] = false;
      const auditor = sim.access.has(principal, `/nodes/${node}`, ['Sys.Audit']);
      const userfilter = p(params, 'userfilter');
      const typefilter = p(params, 'typefilter');
      const vmid = p(params, 'vmid');
      const since = pInt(params, 'since');
      const until = pInt(params, 'until');
      let count = 0;
      const res: Record<string, unknown>[] = [];
      const consider = (t: TaskRecord, row: Record<string, unknown>, status: string | undefined): void => {
        if (userfilter && !t.user.toLowerCase().includes(userfilter.toLowerCase())) return;
        if (!(auditor || ownsTask(t, principal))) return;
        if (typefilter && t.type !== typefilter) return;
        if (vmid && (!t.id || t.id !== vmid)) return;
        if (since !== undefined && t.starttime < since) return;
        if (until !== undefined && t.starttime > until) return;
        if (!statusfilter[statusType(status)]) return;
        if (count++ < start) return;
        if (limit <= 0) return;
        res.push(row);
        limit--;
      };
      const mine = sim.state.tasks.filter((t) => t.node === node);
      if (source === 'active' || source === 'all') {
        for (const t of mine.filter((x) => x.status === 'running').reverse()) consider(t, { ...taskFields(t), status: 'RUNNING' }, undefined);
      }
      if (source !== 'active') {
        // index is appended as tasks end and read backwards: newest first, ties in reverse order of
        // creation (Array.prototype.sort is stable, so reversing first keeps that order).
        const done = mine.filter((x) => x.status === 'stopped').reverse().sort((a, b) => (b.endtime ?? 0) - (a.endtime ?? 0) || b.starttime - a.starttime);
        for (const t of done) consider(t, { ...taskFields(t), endtime: t.endtime, status: t.exitstatus }, t.exitstatus);
      }
      attrs.total = count;
      return res;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}',
    permissions: { user: 'all' },
    params: { node: std.node, upid: str() },
    handler: () => [{ name: 'log' }, { name: 'status' }],
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/tasks/{upid}',
    permissions: { user: 'all' },
    params: { node: std.node, upid: str() },
    handler: ({ sim, node, principal, params }) => {
      const task = lookup(sim, req(params, 'upid'));
      if (!ownsTask(task, principal)) sim.access.check(principal, `/nodes/${node}`, ['Sys.Modify']);
      sim.tasks.abort(task.upid);
      return null;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/status',
    permissions: { user: 'all' },
    params: { node: std.node, upid: str() },
    handler: ({ sim, node, principal, params }) => {
      const task = lookup(sim, req(params, 'upid'));
      if (!ownsTask(task, principal)) sim.access.check(principal, `/nodes/${node}`, ['Sys.Audit']);
      const row: Record<string, unknown> = { ...taskFields(task), status: task.status };
      if (task.status === 'stopped') row['exitstatus'] = task.exitstatus;
      return row;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    permissions: { user: 'all' },
    params: {
      node: std.node,
      upid: str(),
      start: opt(int({ minimum: 0, default: 0 })),
      limit: opt(int({ minimum: 0, default: 50 })),
      download: opt(bool()),
    },
    handler: ({ sim, node, principal, params, attrs }) => {
      const raw = req(params, 'upid');
      if (!decodeUpid(raw)) paramError({ upid: 'unable to parse worker upid' });
      const task = sim.tasks.get(raw);
      if (!task) {
        attrs.total = 1;
        return [{ n: 1, t: 'unable to open file - No such file or directory' }];
      }
      if (!ownsTask(task, principal)) sim.access.check(principal, `/nodes/${node}`, ['Sys.Audit']);
      const start = pInt(params, 'start') ?? 0;
      const limit = pInt(params, 'limit') ?? 50;
      const lines = task.log;
      const out: Array<{ n: number; t: string }> = [];
      let budget = limit;
      lines.forEach((t, idx) => {
        if (idx < start) return;
        if (limit !== 0) {
          if (budget <= 0) return;
          budget--;
        }
        out.push({ n: idx + 1, t });
      });
      let total = lines.length;
      if (total === 0) {
        total = 1;
        out.push({ n: 1, t: 'no content' });
      }
      attrs.total = total;
      return out;
    },
  },
];
