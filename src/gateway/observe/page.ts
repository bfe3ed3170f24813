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

/** The page's script (plain browser JavaScript). */
export const LIVE_JS = `'use strict';
(function () {
  var STATES = ['all', 'new', 'active', 'idle', 'hijacked'];
  var q = new URLSearchParams(location.search);
  var filter = STATES.indexOf(q.get('state')) > 0 ? q.get('state') : 'all';
  var search = q.get('q') || '';
  var sortKey = q.get('sort') || 'id';
  var sortDir = q.get('dir') === 'desc' ? 'desc' : 'asc';
  var last = null;
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
  function peak(vals) {
    var m = 0;
    for (var i = 0; i < vals.length; i++) if (vals[i] !== null && vals[i] > m) m = vals[i];
    return m;
  }
  function spark(t) {
    var w = 120, h = 26;
    // Each line is scaled to its own maximum: the tooltip gives both scales.
    var scale = 'last ' + t.throughput.length + ' samples · throughput peak ' + bytes(peak(t.throughput)) + '/s · rtt peak ' +
      ms(peak(t.rtt)).replace(/<[^>]*>/g, '');
    return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img" aria-label="' + esc(scale) + '">' +
      '<title>' + esc(scale) + '</title>' +
      line(t.throughput, w, h, 'var(--tput)') + line(t.rtt, w, h, 'var(--rtt)') + '</svg>';
  }
  function row(c) {
    var t = c.tcp;
    var named = c.who && !(c.identity && c.who === c.identity.address);
    var client = named
      ? esc(c.who) + '<span class="sub">' + esc(c.transport) + (c.transport === 'unix' ? '' : ' ' + esc(c.remote)) + '</span>'
      : esc(c.remote) + '<span class="sub">' + esc(c.transport) + '</span>';
    var route = '<span class="dash">—</span>';
    var denied = c.route && c.route.decision === 'deny';
    var target = c.takeover && c.takeover.container ? '<span class="sub target" title="the container (and command) this stream is attached to">' +
      esc('▸ ' + c.takeover.container + (c.takeover.command ? ' · ' + c.takeover.command : '')) + '</span>' : '';
    if (c.route) {
      route = target + esc(c.route.method + ' ' + c.route.path) + '<span class="sub">' +
        (c.route.pending ? '<span class="pending">in flight…</span>'
          : denied ? '<span class="deny">denied ' + esc(c.route.status + ' · ' + (c.route.reason || '')) + '</span>' + (c.route.rule ? ' · ' + esc(c.route.rule) : '')
          : esc((c.route.rule || c.route.decision) + ' · ' + c.route.status)) +
        '</span>';
    }
    var tb = c.takeover && c.takeover.bytes;
    return '<tr data-id="' + c.id + '" data-state="' + c.state + '"' + (denied ? ' class="denied"' : '') +
      (c.takeover && c.takeover.control !== undefined ? ' data-control="' + c.takeover.control + '"' : '') + '>' +
      '<td class="mono">#' + c.id + '</td>' +
      '<td><span class="state ' + c.state + '">' + c.state + '</span>' +
        (c.takeover ? '<span class="sub">' + esc(c.takeover.kind + ' ' + c.takeover.protocol) + '</span>' : '') +
        (c.takeover && c.takeover.control !== undefined ? '<span class="sub control" title="the connection that created this exec / attached">↳ from #' + c.takeover.control + '</span>' : '') + '</td>' +
      '<td>' + client + '</td>' +
      '<td class="route mono">' + route + '</td>' +
      '<td class="num narrow-hide">' + age(c.age) + '<span class="sub">' + c.requests + ' req</span></td>' +
      '<td class="num" data-k="bytes" title="' + (tb ? 'stream: ' + tb.up + ' B up, ' + tb.down + ' B down; ' : '') + c.bytes.in + ' B in, ' + c.bytes.out + ' B out">' + bytes(c.bytes.in) + '<span class="sub">' + bytes(c.bytes.out) + '</span></td>' +
      '<td class="num narrow-hide" data-k="rtt">' + (t ? ms(t.rtt) : '<span class="dash">—</span>') + '</td>' +
      '<td class="num wide" data-k="minRtt">' + (t ? ms(t.minRtt) : '<span class="dash">—</span>') + '</td>' +
      '<td class="num wide" data-k="cwnd">' + (t ? t.cwnd + ' seg' : '<span class="dash">—</span>') + '</td>' +
      '<td class="num narrow-hide" data-k="deliveryRate">' + (t ? rate(t.deliveryRate) : '<span class="dash">—</span>') + '</td>' +
      '<td class="num wide" data-k="retrans">' + (t ? t.retrans + ' seg' : '<span class="dash">—</span>') + '</td>' +
      '<td class="wide">' + spark(c.trend) + '</td></tr>';
  }
  function dur(n) { return n < 1000 ? Math.round(n) + ' ms' : age(n); }
  function clock(t) { return new Date(t).toLocaleTimeString(); }
  function sortValue(c, k) {
    var t = c.tcp || {};
    switch (k) {
      case 'state': return c.state;
      case 'who': return (c.who || c.remote).toLowerCase();
      case 'route': return c.route ? (c.route.method + ' ' + c.route.path).toLowerCase() : '';
      case 'age': return c.age;
      case 'bytes': return c.bytes.in + c.bytes.out;
      case 'rtt': case 'minRtt': case 'cwnd': case 'deliveryRate': case 'retrans':
        return t[k] === undefined || t[k] === null ? -1 : t[k];
      default: return c.id;
    }
  }
  function matches(c) {
    if (!search) return true;
    var hay = [c.who, c.remote, c.transport, c.state, c.route ? c.route.method + ' ' + c.route.path + ' ' + (c.route.rule || '') : '',
      c.takeover ? c.takeover.kind + ' ' + c.takeover.protocol : '', '#' + c.id].join(' ').toLowerCase();
    return hay.indexOf(search.toLowerCase()) >= 0;
  }
  // The view's state lives in the address: a reload or a shared link shows the same.
  function remember() {
    var p = new URLSearchParams(location.search);
    p.delete('token');
    if (filter !== 'all') p.set('state', filter); else p.delete('state');
    if (search) p.set('q', search); else p.delete('q');
    if (sortKey !== 'id' || sortDir !== 'asc') { p.set('sort', sortKey); p.set('dir', sortDir); } else { p.delete('sort'); p.delete('dir'); }
    var qs = p.toString();
    history.replaceState(null, '', location.pathname + (qs ? '?' + qs : ''));
  }
  function table(title, id, head, rows, none) {
    return '<h2>' + title + '<b>' + rows.length + '</b></h2>' + (rows.length === 0 ? '<p class="none">' + none + '</p>'
      : '<table><thead><tr>' + head.map(function (h) { return '<th' + (h.charAt(0) === '#' ? ' class="num"' : '') + '>' + h.replace('#', '') + '</th>'; }).join('') +
        '</tr></thead><tbody id="' + id + '">' + rows.join('') + '</tbody></table>');
  }
  function extras(s) {
    $('denials').innerHTML = table('Recent denials', 'denial-rows', ['time', 'client', 'request', 'reason', 'rule', '#status'],
      (s.denials || []).map(function (d) {
        return '<tr class="denied" data-reason="' + esc(d.reason) + '"><td>' + clock(d.time) + '</td><td>' + esc(d.who) + '</td><td class="mono">' + esc(d.method + ' ' + d.path) +
          '</td><td class="deny">' + esc(d.reason) + '</td><td class="mono">' + (d.rule ? esc(d.rule) : '<span class="dash">no rule matched</span>') + '</td><td class="num">' + d.status + '</td></tr>';
      }), 'No request refused yet.');
    $('identities').innerHTML = table('Per identity', 'identity-rows', ['identity', '#connections', '#streams', '#bytes in / out', '#denials'],
      (s.identities || []).map(function (x) {
        return '<tr data-who="' + esc(x.who) + '"><td>' + esc(x.who) + '</td><td class="num">' + x.connections + '</td><td class="num">' + x.streams +
          '</td><td class="num">' + bytes(x.bytes.in) + ' / ' + bytes(x.bytes.out) + '</td><td class="num' + (x.denials ? ' deny' : '') + '">' + x.denials + '</td></tr>';
      }), 'No identity seen yet.');
    $('ended').innerHTML = table('Recently ended', 'ended-rows', ['id', 'client', 'route', 'end', '#lasted', '#bytes in / out'],
      (s.ended || []).map(function (e) {
        return '<tr data-ended="' + e.id + '" data-end="' + esc(e.end) + '"><td class="mono">#' + e.id + '</td><td>' + esc(e.who || e.remote) + '</td><td class="mono">' +
          (e.route ? esc(e.route.method + ' ' + e.route.path) : '<span class="dash">—</span>') + (e.takeover ? '<span class="sub">' + esc(e.takeover.kind + ' ' + e.takeover.protocol +
            (e.takeover.container ? ' · ' + e.takeover.container + (e.takeover.command ? ' · ' + e.takeover.command : '') : '')) + '</span>' : '') +
          '</td><td' + (e.end === 'error' ? ' class="deny"' : '') + '>' + esc(e.end) + '</td><td class="num">' + dur(e.duration) + '</td><td class="num">' + bytes(e.bytes.in) + ' / ' + bytes(e.bytes.out) + '</td></tr>';
      }), 'No connection ended yet.');
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
    var shown = s.connections.filter(function (c) { return (filter === 'all' || c.state === filter) && matches(c); });
    shown.sort(function (a, b) {
      var x = sortValue(a, sortKey), y = sortValue(b, sortKey);
      var r = x < y ? -1 : x > y ? 1 : a.id - b.id;
      return sortDir === 'desc' ? -r : r;
    });
    // A stream goes right under its control connection when both are shown.
    var byId = {};
    shown.forEach(function (c) { byId[c.id] = c; });
    var placed = [];
    shown.forEach(function (c) {
      if (c.takeover && byId[c.takeover.control]) return;
      placed.push(c);
      shown.forEach(function (s) { if (s.takeover && s.takeover.control === c.id) placed.push(s); });
    });
    shown = placed;
    $('rows').innerHTML = shown.map(row).join('');
    var ths = document.querySelectorAll('th[data-sort]');
    for (var i = 0; i < ths.length; i++) {
      var k = ths[i].getAttribute('data-sort');
      if (k === sortKey) ths[i].setAttribute('aria-sort', sortDir === 'asc' ? 'ascending' : 'descending');
      else ths[i].removeAttribute('aria-sort');
    }
    extras(s);
    $('table').hidden = shown.length === 0;
    $('empty').hidden = shown.length !== 0;
    $('empty').setAttribute('data-view', 'empty');
    $('empty').textContent = s.connections.length === 0 ? 'No live connections. Send a request through the gateway.'
      : search ? 'No ' + (filter === 'all' ? '' : filter + ' ') + 'connection matches “' + search + '”.' : 'No ' + filter + ' connections.';
  }
  $('filters').addEventListener('click', function (e) {
    var b = e.target.closest('button');
    if (!b) return;
    filter = b.getAttribute('data-state');
    remember();
    if (last) render(last);
  });
  $('search').value = search;
  $('search').addEventListener('input', function () {
    search = $('search').value.trim();
    remember();
    if (last) render(last);
  });
  document.querySelector('thead').addEventListener('click', function (e) {
    var th = e.target.closest('th[data-sort]');
    if (!th) return;
    var k = th.getAttribute('data-sort');
    if (k === sortKey) sortDir = sortDir === 'asc' ? 'desc' : 'asc';
    else { sortKey = k; sortDir = k === 'id' || k === 'who' || k === 'route' || k === 'state' ? 'asc' : 'desc'; }
    remember();
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
    $('denials').innerHTML = '';
    $('identities').innerHTML = '';
    $('ended').innerHTML = '';
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
