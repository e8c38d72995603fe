/** Escape text for HTML content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Tagged template: interpolations are escaped unless wrapped in `raw()`. */
export class Raw {
  constructor(readonly html: string) {}
}
export const raw = (html: string): Raw => new Raw(html);

type Part = string | number | Raw | undefined | null | false | readonly Part[];

function part(p: Part): string {
  if (p === undefined || p === null || p === false) return '';
  if (p instanceof Raw) return p.html;
  if (Array.isArray(p)) return p.map(part).join('');
  return esc(String(p));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Raw {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += part(v) + strings[i + 1]!;
  });
  return new Raw(out);
}

const NAV = [
  ['/', 'Grid'],
  ['/journal', 'Journal'],
  ['/images', 'Images'],
  ['/metrics', 'Metrics'],
] as const;

/** The page shell: a skip link, the navigation, one main landmark. No script, no external asset. */
export function page(title: string, current: string, body: Raw): string {
  return `<!doctype html>
${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · lab</title><link rel="stylesheet" href="/style.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><nav aria-label="Sections"><span class="brand">lab</span>${NAV.map(([href, label]) => html`<a href="${href}"${raw(href === current ? ' aria-current="page"' : '')}>${label}</a>`)}</nav></header>
<main id="main" tabindex="-1"><h1>${title}</h1>${body}</main></body></html>`.html}
`;
}

/** Colours meet WCAG AA contrast (4.5:1) against their backgrounds; states also carry text, never colour alone. */
export const STYLE = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#4f5862;--bg:#fff;--line:#d0d7de;--ok:#0f5323;--ok-bg:#dafbe1;--warn:#6b4400;--warn-bg:#fff1c2;--bad:#8a1020;--bad-bg:#ffe3e6;--none:#3d444d;--none-bg:#eef1f4;--link:#0a4fa8}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{border-bottom:1px solid var(--line);padding:.5rem 1rem}nav{display:flex;gap:1rem;align-items:center}.brand{font-weight:700}
a{color:var(--link)}a:focus-visible,button:focus-visible,select:focus-visible{outline:3px solid #0a4fa8;outline-offset:2px}
a[aria-current=page]{font-weight:700}main{padding:1rem;max-width:78rem}.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.25rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}th[scope=col]{background:#f6f8fa}
.cell{display:block;font-weight:600}.when{display:block;color:var(--muted);font-size:.85em;white-space:nowrap}
.converged{color:var(--ok);background:var(--ok-bg)}.drift,.pending{color:var(--warn);background:var(--warn-bg)}.failed,.invalid,.overdue{color:var(--bad);background:var(--bad-bg)}.never,.off{color:var(--none);background:var(--none-bg)}
pre{background:#f6f8fa;border:1px solid var(--line);padding:.5rem;overflow:auto;font-size:13px}
.add{color:#0f5323}.del{color:#8a1020}.chg{color:#6b4400}.hunk{color:#0a4fa8}
button{font:inherit;padding:.2rem .6rem;border:1px solid #57606a;border-radius:4px;background:#f6f8fa;color:var(--fg);cursor:pointer}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}form.inline{display:inline}
.errors li{font-family:ui-monospace,monospace;white-space:pre-wrap}
`;
