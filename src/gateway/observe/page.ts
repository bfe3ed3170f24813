/**
 * The live connections page: one HTML document and one script, no framework, no external
 * assets. The script reads `/events` (server-sent events; it falls back to polling
 * `/connections.json`) and redraws a table with a state filter and an inline SVG
 * sparkline of rtt and throughput per connection.
 *
 * @module
 */

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
  --rtt: #7c3aed; --tput: #0f9d76;
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
footer a { color: inherit; }
</style>
</head>
<body>
<header>
  <h1>hijack gateway <span>live connections</span></h1>
  <div id="listeners"></div>
  <div id="status">connecting…</div>
</header>
<nav id="filters" aria-label="filter by state"></nav>
<main>
  <table id="table" hidden>
    <thead><tr>
      <th>id</th><th>state</th><th>client</th><th>route</th><th class="num">age</th>
      <th class="num">bytes in / out</th><th class="num">rtt</th><th class="num">min rtt</th>
      <th class="num">cwnd</th><th class="num">delivery</th><th class="num">retrans</th>
      <th>trend</th>
    </tr></thead>
    <tbody id="rows"></tbody>
  </table>
  <div id="empty" data-view="connecting">Connecting to the gateway…</div>
</main>
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

/** The page's script (plain browser JavaScript). */
export const LIVE_JS = `'use strict';
(function () {
  var STATES = ['all', 'new', 'active', 'idle', 'hijacked'];
  var filter = 'all';
  var last = null;
  var q = new URLSearchParams(location.search);
  var token = q.get('token');
  var suffix = token ? '?token=' + encodeURIComponent(token) : '';
  var $ = function (id) { return document.getElementById(id); };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function bytes(n) {
    if (n < 1024) return n + ' B';
    var u = ['KiB', 'MiB', 'GiB', 'TiB'], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(n < 10 ? 1 : 0) + ' ' + u[i];
  }
  function rate(n) { return n === undefined || n === null ? '<span class="dash">—</span>' : bytes(n) + '/s'; }
  function ms(n) {
    if (n === undefined || n === null) return '<span class="dash">—</span>';
    return n < 10 ? n.toFixed(2) + ' ms' : n < 1000 ? n.toFixed(1) + ' ms' : (n / 1000).toFixed(2) + ' s';
  }
  function age(n) {
    var s = Math.floor(n / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' m ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' m';
  }
  function line(vals, w, h, color) {
    var pts = [], max = 0, i, n = vals.length;
    for (i = 0; i < n; i++) if (vals[i] !== null && vals[i] > max) max = vals[i];
    if (n < 2) return '';
    for (i = 0; i < n; i++) {
      if (vals[i] === null) continue;
      var x = (i / (n - 1)) * (w - 2) + 1;
      var y = max > 0 ? h - 2 - (vals[i] / max) * (h - 4) : h - 2;
      pts.push(x.toFixed(1) + ',' + y.toFixed(1));
    }
    return pts.length > 1 ? '<polyline fill="none" stroke="' + color + '" stroke-width="1.5" points="' + pts.join(' ') + '"/>' : '';
  }
  function spark(t) {
    var w = 120, h = 26;
    return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img" aria-label="rtt and throughput trend">' +
      line(t.throughput, w, h, 'var(--tput)') + line(t.rtt, w, h, 'var(--rtt)') + '</svg>';
  }
  function row(c) {
    var t = c.tcp;
    var named = c.who && !(c.identity && c.who === c.identity.address);
    var client = named
      ? esc(c.who) + '<span class="sub">' + esc(c.transport) + (c.transport === 'unix' ? '' : ' ' + esc(c.remote)) + '</span>'
      : esc(c.remote) + '<span class="sub">' + esc(c.transport) + '</span>';
    var route = '<span class="dash">—</span>';
    if (c.route) {
      route = esc(c.route.method + ' ' + c.route.path) + '<span class="sub">' +
        (c.route.pending ? '<span class="pending">in flight…</span>' : esc((c.route.rule || c.route.decision) + ' · ' + c.route.status)) +
        '</span>';
    }
    return '<tr data-id="' + c.id + '" data-state="' + c.state + '">' +
      '<td class="mono">#' + c.id + '</td>' +
      '<td><span class="state ' + c.state + '">' + c.state + '</span>' +
        (c.takeover ? '<span class="sub">' + esc(c.takeover.kind + ' ' + c.takeover.protocol) + '</span>' : '') + '</td>' +
      '<td>' + client + '</td>' +
      '<td class="route mono">' + route + '</td>' +
      '<td class="num">' + age(c.age) + '<span class="sub">' + c.requests + ' req</span></td>' +
      '<td class="num">' + bytes(c.bytes.in) + '<span class="sub">' + bytes(c.bytes.out) + '</span></td>' +
      '<td class="num" data-k="rtt">' + (t ? ms(t.rtt) : '<span class="dash">—</span>') + '</td>' +
      '<td class="num" data-k="minRtt">' + (t ? ms(t.minRtt) : '<span class="dash">—</span>') + '</td>' +
      '<td class="num" data-k="cwnd">' + (t ? t.cwnd : '<span class="dash">—</span>') + '</td>' +
      '<td class="num" data-k="deliveryRate">' + (t ? rate(t.deliveryRate) : '<span class="dash">—</span>') + '</td>' +
      '<td class="num" data-k="retrans">' + (t ? t.retrans : '<span class="dash">—</span>') + '</td>' +
      '<td>' + spark(c.trend) + '</td></tr>';
  }
  function filters(s) {
    var html = '';
    STATES.forEach(function (st) {
      var n = st === 'all' ? s.connections.length : s.counts[st];
      html += '<button type="button" data-state="' + st + '" aria-pressed="' + (filter === st) + '">' + st + '<b>' + n + '</b></button>';
    });
    $('filters').innerHTML = html;
  }
  function render(s) {
    last = s;
    $('listeners').textContent = s.listeners.join('  ') + '  ·  ' + s.takeovers + ' takeover' + (s.takeovers === 1 ? '' : 's') + ' open';
    filters(s);
    var shown = s.connections.filter(function (c) { return filter === 'all' || c.state === filter; });
    $('rows').innerHTML = shown.map(row).join('');
    $('table').hidden = shown.length === 0;
    $('empty').hidden = shown.length !== 0;
    $('empty').setAttribute('data-view', 'empty');
    $('empty').textContent = s.connections.length === 0 ? 'No live connections. Send a request through the gateway.' : 'No ' + filter + ' connections.';
  }
  $('filters').addEventListener('click', function (e) {
    var b = e.target.closest('button');
    if (!b) return;
    filter = b.getAttribute('data-state');
    if (last) render(last);
  });
  function status(ok, text) {
    var el = $('status');
    el.className = ok ? 'live' : 'down';
    el.textContent = text;
  }
  // Not showing data: why, in the place of the table (never "No live connections").
  function blank(view, html) {
    last = null;
    $('table').hidden = true;
    $('filters').innerHTML = '';
    $('empty').hidden = false;
    $('empty').setAttribute('data-view', view);
    $('empty').innerHTML = html;
  }
  function unauthorised(code) {
    status(false, 'not authorised');
    blank('unauthorised', (code === 403 ? 'Not authorised: this client is not allowed here.' : 'Not authorised: the session ended or the token is no longer valid.') +
      ' <a href="login">Sign in</a>');
  }
  function disconnected() {
    status(false, 'disconnected');
    blank('disconnected', 'Disconnected: the gateway does not answer. Retrying…');
  }
  // After a failure: ask once why (a refusal, or nothing answering), then retry.
  function diagnose(retry) {
    fetch('connections.json' + suffix, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (r.status === 401 || r.status === 403) { unauthorised(r.status); return; }
      if (!r.ok) throw new Error('status ' + r.status);
      return r.json().then(function (s) { status(true, 'polling'); render(s); setTimeout(retry, 2000); });
    }).catch(function () { disconnected(); setTimeout(retry, 2000); });
  }
  function poll() {
    fetch('connections.json' + suffix, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (r.status === 401 || r.status === 403) { unauthorised(r.status); return; }
      return r.json().then(function (s) { status(true, 'polling'); render(s); setTimeout(poll, 2000); });
    }).catch(function () { disconnected(); setTimeout(poll, 2000); });
  }
  function stream() {
    var es = new EventSource('events' + suffix, { withCredentials: true });
    es.addEventListener('snapshot', function (e) { status(true, 'live'); render(JSON.parse(e.data)); });
    es.onerror = function () {
      // A refused or lost stream: EventSource alone cannot tell which.
      es.close();
      status(false, 'reconnecting…');
      diagnose(stream);
    };
  }
  blank('connecting', 'Connecting to the gateway…');
  if (typeof EventSource === 'function') stream();
  else poll();
})();
`;
