/**
 * The live connections page: one HTML document, the refusal/sign-in page, and the page's
 * one script (its source is the browser module page/script.ts; here it is found built, or
 * compiled from source). No framework, no external assets.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HijackError } from '../../errors.js';

/** The page's HTML (its script is served at `live.js`). */
export const LIVE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hijack gateway · live connections</title>
<style>
:root {
  --bg: #f7f8fa; --fg: #1d232b; --muted: #6b7480; --line: #e2e5ea; --card: #fff;
  --new: #7b8794; --active: #2d7ff9; --idle: #8a9a5b; --hijacked: #c2410c;
  --rtt: #7c3aed; --tput: #0f9d76; --deny: #dc2626;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171c; --fg: #e6e9ee; --muted: #8c96a3; --line: #2a2f37; --card: #1b1f26; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 18px; padding: 14px 22px; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 17px; margin: 0; font-weight: 650; }
h1 span { color: var(--muted); font-weight: 400; }
#listeners { color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
#status { margin-left: auto; font-size: 12.5px; color: var(--muted); }
#status.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #16a34a; margin-right: 6px; }
#status.down::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #dc2626; margin-right: 6px; }
nav { display: flex; gap: 8px; padding: 12px 22px 4px; flex-wrap: wrap; }
nav button { font: inherit; font-size: 13px; border: 1px solid var(--line); background: var(--card); color: var(--fg); border-radius: 999px; padding: 3px 12px; cursor: pointer; }
nav button[aria-pressed="true"] { border-color: var(--fg); box-shadow: inset 0 0 0 1px var(--fg); }
nav button b { font-variant-numeric: tabular-nums; margin-left: 4px; }
main { padding: 8px 22px 24px; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { padding: 7px 9px; text-align: left; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: middle; }
th { font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; background: var(--bg); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: 0; }
td.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
td.route { max-width: 300px; overflow: hidden; text-overflow: ellipsis; }
td.route .sub { overflow: hidden; text-overflow: ellipsis; }
.pending { color: var(--active); }
.target { color: var(--hijacked); font-weight: 600; }
tr[data-control] td:first-child { padding-left: 22px; }
.sub { display: block; color: var(--muted); font-size: 11.5px; }
.state { display: inline-block; min-width: 70px; text-align: center; border-radius: 4px; padding: 1px 8px; font-size: 12px; font-weight: 600; color: #fff; }
.state.new { background: var(--new); } .state.active { background: var(--active); }
.state.idle { background: var(--idle); } .state.hijacked { background: var(--hijacked); }
.dash { color: var(--muted); }
svg.spark { display: block; }
.legend { color: var(--muted); font-size: 11.5px; }
.legend i { display: inline-block; width: 10px; height: 2px; vertical-align: middle; margin: 0 3px 0 8px; }
#empty { padding: 40px; text-align: center; color: var(--muted); background: var(--card); border: 1px dashed var(--line); border-radius: 8px; }
footer { padding: 0 22px 20px; color: var(--muted); font-size: 12px; }
#filters { display: flex; gap: 8px; flex-wrap: wrap; }
#search { font: inherit; font-size: 13px; padding: 3px 10px; border: 1px solid var(--line); border-radius: 999px; background: var(--card); color: var(--fg); min-width: 200px; margin-left: auto; }
th[data-sort] { cursor: pointer; user-select: none; }
th[data-sort]:hover { color: var(--fg); }
th[aria-sort="ascending"]::after { content: " ▲"; } th[aria-sort="descending"]::after { content: " ▼"; }
tr.denied td:first-child { box-shadow: inset 3px 0 0 var(--deny); }
.deny { color: var(--deny); font-weight: 600; }
section { padding: 4px 22px 14px; overflow-x: auto; }
section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 10px 0 8px; font-weight: 650; }
section h2 b { color: var(--fg); margin-left: 4px; }
#denials table { border-color: var(--deny); }
.none { color: var(--muted); font-size: 13px; }
abbr { text-decoration: none; border-bottom: 1px dotted var(--muted); cursor: help; }
@media (max-width: 640px) {
  header, nav, main, section, footer { padding-left: 10px; padding-right: 10px; }
  th, td { padding: 6px 6px; }
  .wide, .narrow-hide { display: none; }
  .state { min-width: 0; }
  #search { min-width: 0; width: 100%; margin-left: 0; }
  td.route { max-width: 90px; }
  td { font-size: 13px; }
}
footer a { color: inherit; }
</style>
</head>
<body>
<header>
  <h1>hijack gateway <span>live connections</span></h1>
  <div id="listeners"></div>
  <div id="status">connecting…</div>
</header>
<nav aria-label="filter"><span id="filters"></span><input id="search" type="search" placeholder="search client, route, identity" aria-label="search"></nav>
<main>
  <table id="table" hidden>
    <thead><tr>
      <th data-sort="id" title="the gateway's connection id">id</th>
      <th data-sort="state" title="Go's ConnState: new, active (a request in flight), idle (keep-alive), hijacked (taken over)">state</th>
      <th data-sort="who" title="who the client is: token name, mTLS CN, unix uid, or its address">client</th>
      <th data-sort="route" title="the request in flight, or the last one with its rule and status">route</th>
      <th class="num narrow-hide" data-sort="age" title="time since the connection was accepted; requests made on it">age</th>
      <th class="num" data-sort="bytes" title="bytes read from / written to the client socket, heads included, live while a stream flows">bytes<span class="narrow-hide"> in / out</span></th>
      <th class="num narrow-hide" data-sort="rtt" title="smoothed round-trip time (kernel TCP_INFO)">rtt</th>
      <th class="num wide" data-sort="minRtt" title="lowest round-trip time seen on this connection">min rtt</th>
      <th class="num wide" data-sort="cwnd" title="congestion window, in segments">cwnd</th>
      <th class="num narrow-hide" data-sort="deliveryRate" title="most recent delivery rate the kernel measured">delivery</th>
      <th class="num wide" data-sort="retrans" title="segments retransmitted over the connection's life">retrans</th>
      <th class="wide" title="last minute: rtt (purple) and throughput (green), each scaled to its own maximum">trend</th>
    </tr></thead>
    <tbody id="rows"></tbody>
  </table>
  <div id="empty" data-view="connecting">Connecting to the gateway…</div>
</main>
<section id="denials" aria-label="recent denials"></section>
<section id="identities" aria-label="per identity"></section>
<section id="ended" aria-label="recently ended"></section>
<footer><span class="legend">trend (last minute):<i style="background:var(--rtt)"></i>rtt<i style="background:var(--tput)"></i>throughput</span> · rtt, cwnd, delivery rate and retransmits from the kernel (TCP_INFO; — on unix sockets) · data: <a href="connections.json">connections.json</a>, live by server-sent events</footer>
<script src="live.js"></script>
</body>
</html>
`;

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/**
 * The page a browser gets instead of the live page when it is refused: what happened in
 * words, and (for a missing or wrong token) a sign-in form that posts the token to
 * `login` once, for a session cookie.
 */
export function refusalHtml(status: number, message: string, signIn: boolean): string {
  const title = status === 401 ? 'Sign in' : 'Not authorised';
  const form = signIn
    ? `<form method="post" action="login">
  <label for="token">Bearer token (a secret from the gateway's <code>--token-file</code>)</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Sign in</button>
</form>
<p class="hint">The token is checked once; the browser then keeps an HttpOnly session cookie. Scripts and <code>curl</code> use <code>Authorization: Bearer …</code> instead.</p>`
    : '<p class="hint">Ask the operator to allow this client (<code>--allow-cidr</code>, <code>--allow-uid</code>, <code>--allow-gid</code>).</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hijack gateway · ${title.toLowerCase()}</title>
<style>
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f7f8fa; color: #1d232b; }
main { max-width: 460px; margin: 12vh auto; padding: 26px 28px; background: #fff; border: 1px solid #e2e5ea; border-radius: 10px; }
h1 { font-size: 19px; margin: 0 0 6px; } .status { color: #b42318; margin: 0 0 18px; }
label { display: block; font-size: 13px; color: #6b7480; margin-bottom: 6px; }
input { width: 100%; box-sizing: border-box; font: inherit; padding: 8px 10px; border: 1px solid #c9ced6; border-radius: 6px; }
button { margin-top: 12px; font: inherit; padding: 7px 16px; border-radius: 6px; border: 1px solid #1d232b; background: #1d232b; color: #fff; cursor: pointer; }
.hint { color: #6b7480; font-size: 13px; } code { font-size: 12.5px; }
@media (prefers-color-scheme: dark) { body { background: #14171c; color: #e6e9ee; } main { background: #1b1f26; border-color: #2a2f37; } input { background: #14171c; color: inherit; border-color: #2a2f37; } }
</style>
</head>
<body>
<main>
<h1>hijack gateway · live connections</h1>
<p class="status" id="refusal" data-status="${status}">${status} ${title}: ${escapeHtml(message)}</p>
${form}
</main>
</body>
</html>
`;
}

/** The part of the TypeScript compiler {@link compileLiveScript} uses. */
export interface ScriptCompiler {
  transpileModule(
    input: string,
    options: { fileName: string; reportDiagnostics: boolean; compilerOptions: object },
  ): { outputText: string; diagnostics?: readonly unknown[] };
  ScriptTarget: { ES2020: number };
  ModuleKind: { ESNext: number };
  ModuleDetectionKind: { Legacy: number };
}

/**
 * The browser script from its TypeScript source (`page/script.ts`): types erased, nothing
 * else changed, a classic script (no import or export). The build writes it to
 * dist/gateway/observe/page/live.js; from source it is compiled at first serve.
 */
export function compileLiveScript(ts: ScriptCompiler, source: string): string {
  const out = ts.transpileModule(source, {
    fileName: 'script.ts',
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.ESNext,
      moduleDetection: ts.ModuleDetectionKind.Legacy,
      sourceMap: false,
    },
  });
  if (out.diagnostics?.length)
    throw new HijackError(
      'ERR_CONFIG',
      `the live page's script does not compile (${out.diagnostics.length} errors)`,
    );
  return out.outputText;
}

/**
 * The script for a module in `dir` (a file URL ending in `/`): the built
 * `page/live.js` there (dist/), else `page/script.ts` compiled with the `typescript`
 * package (running from src/ with tsx). Throws `ERR_CONFIG` (a broken installation) when
 * there is neither.
 */
export function loadLiveScript(dir: URL): string {
  const built = new URL('page/live.js', dir);
  if (existsSync(built)) return readFileSync(built, 'utf8');
  const source = new URL('page/script.ts', dir);
  if (existsSync(source)) {
    const ts = createRequire(import.meta.url)('typescript') as ScriptCompiler;
    return compileLiveScript(ts, readFileSync(source, 'utf8'));
  }
  throw new HijackError(
    'ERR_CONFIG',
    `the live page's script is missing (${fileURLToPath(built)}): build the package with npm run build`,
  );
}

let script: string | undefined;

/** The page's script, served as `live.js` ({@link loadLiveScript} for this module's folder, once). */
export function liveScript(): string {
  script ??= loadLiveScript(new URL('./', import.meta.url));
  return script;
}
