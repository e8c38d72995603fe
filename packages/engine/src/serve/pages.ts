import { renderPlan, type Plan } from '@lab/core';
import type { JournalEntry } from '../journal/entry.js';
import { concerns } from '../journal/queries.js';
import type { PersonaFacts } from '../docs-gen/facts.js';
import { html, page, raw, type Raw } from './html.js';
import type { LabView } from './load.js';
import { ago, type Cell, type DrillState, GRID_COLUMNS, type GridRow, type Observation } from './status.js';

const COLUMN_TITLE: Record<string, string> = { l0: 'L0 host', l1: 'L1 image', l2: 'L2 VM', l3: 'L3 OS', l4: 'L4 workload', capture: 'Capture' };

export function cellText(c: Cell): string {
  switch (c.state) {
    case 'drift':
      return `drift (${c.count ?? 0})`;
    case 'failed':
      return `failed ${c.code ?? ''}`.trim();
    case 'never':
      return 'never applied';
    case 'off':
      return 'not declared';
    default:
      return c.state;
  }
}

function cell(c: Cell, now: Date): Raw {
  return html`<td class="${c.state}" data-column="${c.column}" data-state="${c.state}"${raw(c.count !== undefined ? ` data-count="${c.count}"` : '')}${raw(c.code ? ` data-code="${c.code.replace(/[^A-Z0-9_]/g, '')}"` : '')} title="${c.source}"><span class="cell">${cellText(c)}</span><span class="when">${c.at ? `observed ${ago(c.at, now)}` : 'not observed'}</span></td>`;
}

export function gridPage(rows: readonly GridRow[], siteErrors: readonly string[], now: Date): string {
  const head = html`<tr><th scope="col">Persona</th>${GRID_COLUMNS.map((c) => html`<th scope="col">${COLUMN_TITLE[c]}</th>`)}<th scope="col">Observe</th></tr>`;
  const body = rows.map((r) =>
    r.invalid.length > 0
      ? html`<tr data-persona="${r.persona}"><th scope="row"><a href="/persona/${encodeURIComponent(r.persona)}">${r.persona}</a></th><td class="invalid" colspan="${GRID_COLUMNS.length + 1}" data-state="invalid"><span class="cell">invalid intent</span><ul class="errors">${r.invalid.map((e) => html`<li>${e}</li>`)}</ul></td></tr>`
      : html`<tr data-persona="${r.persona}"><th scope="row"><a href="/persona/${encodeURIComponent(r.persona)}">${r.persona}</a></th>${r.cells.map((c) => cell(c, now))}<td>${observeForm(r.persona)}</td></tr>`,
  );
  const site = siteErrors.length > 0 ? html`<section aria-labelledby="site-errors"><h2 id="site-errors">lab.yaml</h2><ul class="errors invalid">${siteErrors.map((e) => html`<li>${e}</li>`)}</ul></section>` : '';
  return page(
    'The lab',
    '/',
    html`${site}<p>Each cell: the newest state the journal or this page observed for that persona and layer. <em>Observe</em> re-checks L2–L4 read-only (a plan in check mode; nothing is applied or journalled).</p>
<table><caption class="skip">Personas by layer</caption><thead>${head}</thead><tbody>${body}</tbody></table>`,
  );
}

function observeForm(persona: string): Raw {
  return html`<form class="inline" method="post" action="/persona/${encodeURIComponent(persona)}/observe"><button type="submit" aria-label="Re-observe ${persona}">Observe</button></form>`;
}

/** The CLI's plan text, line by line, with a class per line kind; no colour codes. */
export function planHtml(plan: Plan): Raw {
  const text = renderPlan(plan, { color: false });
  const lines = text.split('\n').map((l) => {
    const t = l.trimStart();
    const cls = t.startsWith('@@') ? 'hunk' : t.startsWith('+') ? 'add' : t.startsWith('-/+') || t.startsWith('~') ? 'chg' : t.startsWith('-') ? 'del' : '';
    return cls ? html`<span class="${cls}">${l}</span>` : html`${l}`;
  });
  return html`<pre class="plan">${lines.map((l, i) => (i === 0 ? l : html`\n${l}`))}</pre>`;
}

export function journalTable(entries: readonly JournalEntry[], now: Date): Raw {
  if (entries.length === 0) return html`<p>No journal entries.</p>`;
  return html`<table><thead><tr><th scope="col">When</th><th scope="col">Command</th><th scope="col">Personas</th><th scope="col">Layers</th><th scope="col">Result</th><th scope="col">Changes</th><th scope="col">Commit</th></tr></thead><tbody>${entries.map(
    (e) =>
      html`<tr><td><time datetime="${e.time}">${e.time.slice(0, 19).replace('T', ' ')} UTC</time><span class="when">${ago(new Date(e.time), now)}</span></td><td>${e.command}</td><td>${e.personas.join(', ') || 'site'}</td><td>${e.layers.join(', ')}</td><td class="${e.result === 'ok' ? 'converged' : 'failed'}">${e.result}${e.error ? html` <code>${e.error.code}</code>: ${e.error.summary}` : ''}</td><td>${e.changes.length === 0 ? '—' : html`<ul>${e.changes.map((c) => html`<li><code>${c.address}</code> ${c.action}${c.summary ? ` (${c.summary})` : ''}</li>`)}</ul>`}</td><td>${e.git ? `${e.git.commit}${e.git.dirty ? '+dirty' : ''}` : '—'}</td></tr>`,
  )}</tbody></table>`;
}

export function journalPage(view: LabView, filter: { persona?: string; layer?: string }, now: Date): string {
  const entries = view.journal.entries.filter((e) => (!filter.persona || concerns(e, filter.persona)) && (!filter.layer || e.layers.includes(filter.layer)));
  const personas = view.rows.map((r) => r.name);
  const opt = (value: string, label: string, selected: string | undefined) => html`<option value="${value}"${raw(value === (selected ?? '') ? ' selected' : '')}>${label}</option>`;
  return page(
    'Journal',
    '/journal',
    html`<form method="get" action="/journal"><label for="f-persona">Persona</label> <select id="f-persona" name="persona">${opt('', 'all', filter.persona)}${personas.map((p) => opt(p, p, filter.persona))}</select>
<label for="f-layer">Layer</label> <select id="f-layer" name="layer">${opt('', 'all', filter.layer)}${['l0', 'l1', 'l2', 'l3', 'l4', 'capture'].map((l) => opt(l, l.toUpperCase(), filter.layer))}</select> <button type="submit">Filter</button></form>
<p>${entries.length} of ${view.journal.entries.length} runs.</p>${journalTable(entries, now)}`,
  );
}

export interface PersonaPageInput {
  readonly name: string;
  readonly intentText: string | undefined;
  readonly errors: readonly string[];
  readonly facts: PersonaFacts | undefined;
  readonly observations: readonly Observation[];
  readonly entries: readonly JournalEntry[];
  readonly drill: DrillState | undefined;
  readonly now: Date;
}

export function personaPage(i: PersonaPageInput): string {
  const f = i.facts;
  const facts = f
    ? html`<section aria-labelledby="h-vm"><h2 id="h-vm">VM</h2><dl><dt>Node</dt><dd>${f.node}</dd><dt>VMID</dt><dd>${f.vmid}</dd><dt>Address</dt><dd>${f.address}</dd><dt>Image</dt><dd>${f.image}</dd><dt>Stage</dt><dd>${f.stage}${f.ttl ? ` (ttl ${f.ttl})` : ''}</dd><dt>Disks</dt><dd>${f.disks.join('; ') || '—'}</dd><dt>NICs</dt><dd>${f.nics.map((n) => `${n.bridge}${n.vlan !== undefined ? ` vlan ${n.vlan}` : ''} ${n.cidr}`).join('; ')}</dd></dl></section>
<section aria-labelledby="h-stacks"><h2 id="h-stacks">Stacks, ports and URLs</h2>${
        f.stacks.length === 0
          ? html`<p>No stacks.</p>`
          : html`<table><thead><tr><th scope="col">Stack</th><th scope="col">State</th><th scope="col">Services</th><th scope="col">Ports</th><th scope="col">Health probes</th></tr></thead><tbody>${f.stacks.map(
              (s) =>
                html`<tr><td>${s.name}</td><td>${s.state}</td><td>${s.services.map((x) => x.name).join(', ')}</td><td>${s.ports.map((p) => `${p.hostIp ? `${p.hostIp}:` : ''}${p.port}→${p.target}/${p.protocol}`).join(', ') || '—'}</td><td>${s.probes.join('; ') || '—'}</td></tr>`,
            )}</tbody></table>`
      }${f.urls.length > 0 ? html`<ul>${f.urls.map((u) => html`<li><code>${u.url}</code> (${u.from})</li>`)}</ul>` : ''}</section>`
    : '';
  const plans = i.observations.length === 0
    ? html`<p>Not observed since the server started.</p><div>${observeButton(i.name)}</div>`
    : html`<div>${observeButton(i.name)}</div>${i.observations.map(
        (o) =>
          html`<h3 id="plan-${o.layer}">${o.layer.toUpperCase()} <span class="when">observed ${ago(o.at, i.now)}</span></h3>${o.skipped ? html`<p>${o.skipped}</p>` : ''}${o.error ? html`<p class="failed"><code>${o.error.code}</code>: ${o.error.summary}</p>` : ''}${o.plan ? planHtml({ ...o.plan, changes: o.plan.changes.filter((c) => c.layer === o.layer) }) : ''}`,
      )}`;
  const d = i.drill;
  const drill = f && d
    ? html`<dl><dt>Last backup</dt><dd>${f.lastBackup ? f.lastBackup.time : 'never'}</dd><dt>Last verified restore drill</dt><dd class="${d.overdue ? 'overdue' : d.last ? 'converged' : ''}" data-drill="${d.overdue ? 'overdue' : 'ok'}">${d.last ? ago(d.last, i.now) : 'never'}${d.declared ? ` (policy: every ${d.limitDays} d${d.overdue ? ', overdue' : ''})` : ' (no drill declared)'}</dd></dl>`
    : html`<p>No facts: the intent does not validate.</p>`;
  return page(
    i.name,
    '',
    html`${i.errors.length > 0 ? html`<section aria-labelledby="h-err"><h2 id="h-err">Invalid intent</h2><ul class="errors invalid">${i.errors.map((e) => html`<li>${e}</li>`)}</ul></section>` : ''}
${facts}
<section aria-labelledby="h-plans"><h2 id="h-plans">Last plan of each layer</h2>${plans}</section>
<section aria-labelledby="h-backups"><h2 id="h-backups">Backups</h2>${drill}</section>
<section aria-labelledby="h-journal"><h2 id="h-journal">Journal</h2>${journalTable(i.entries, i.now)}</section>
<section aria-labelledby="h-intent"><h2 id="h-intent">Intent</h2>${i.intentText === undefined ? html`<p>No persona.yaml.</p>` : html`<pre>${i.intentText}</pre>`}</section>`,
  );
}

function observeButton(persona: string): Raw {
  return html`<form class="inline" method="post" action="/persona/${encodeURIComponent(persona)}/observe?back=persona"><button type="submit">Re-observe ${persona}</button></form>`;
}

export function imagesPage(view: LabView): string {
  const images = view.lab?.site.site.images ?? [];
  const users = (name: string) => view.rows.filter((r) => r.loaded?.persona.vm.image.name === name).map((r) => `${r.name}@${r.loaded!.persona.vm.image.version}`);
  return page(
    'Images',
    '/images',
    images.length === 0
      ? html`<p>No image catalogue (lab.yaml has none, or does not validate).</p>`
      : html`<table><thead><tr><th scope="col">Image</th><th scope="col">OS</th><th scope="col">Channel stable</th><th scope="col">Versions</th><th scope="col">Used by</th></tr></thead><tbody>${images.map(
          (im) => html`<tr><td>${im.name}</td><td>${im.os}</td><td>${im.stable}</td><td>${im.versions.map((v) => v.version).join(', ')}</td><td>${users(im.name).join(', ') || '—'}</td></tr>`,
        )}</tbody></table>`,
  );
}

export function notFoundPage(what: string): string {
  return page('Not found', '', html`<p>${what}</p><p><a href="/">Back to the grid</a></p>`);
}

export function errorPage(code: string, summary: string): string {
  return page('Error', '', html`<p><code>${code}</code>: ${summary}</p>`);
}
