/**
 * The live page's script (served as `live.js`): a classic browser script, checked against
 * the DOM and against the snapshot types the server sends (`../live.ts`), by its own
 * tsconfig (lib dom). It reads `events` (server-sent events; after a failure it asks
 * `connections.json` once why, and polls it where there is no EventSource) and redraws the
 * connections table with a state filter, a search box, sortable columns and an inline SVG
 * sparkline of rtt and throughput per connection, plus the denials, per-identity and
 * recently ended lists. The view's state lives in the address.
 *
 * No import or export: type-only references (`import('…')` types) keep it a script, so
 * what the compiler emits is what the browser runs (see `../page.ts`, `liveScript`).
 */
'use strict';

type Snapshot = import('../live.js').LiveSnapshot;
type Conn = import('../live.js').LiveConnection;
type Trend = Conn['trend'];

(function () {
  const STATES = ['all', 'new', 'active', 'idle', 'hijacked'];
  const q = new URLSearchParams(location.search);
  let filter = STATES.indexOf(q.get('state') ?? '') > 0 ? q.get('state')! : 'all';
  let search = q.get('q') || '';
  let sortKey = q.get('sort') || 'id';
  let sortDir = q.get('dir') === 'desc' ? 'desc' : 'asc';
  let last: Snapshot | null = null;
  const token = q.get('token');
  const suffix = token ? '?token=' + encodeURIComponent(token) : '';
  const $ = (id: string): HTMLElement => document.getElementById(id)!;
  const searchBox = $('search') as HTMLInputElement;
  const DASH = '<span class="dash">—</span>';

  function esc(s: unknown): string {
    return String(s).replace(/[&<>"']/g, function (c) {
      return (
        { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' } as Record<
          string,
          string
        >
      )[c]!;
    });
  }
  function bytes(n: number): string {
    if (n < 1024) return n + ' B';
    const u = ['KiB', 'MiB', 'GiB', 'TiB'];
    let i = -1;
    do {
      n /= 1024;
      i++;
    } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(n < 10 ? 1 : 0) + ' ' + u[i];
  }
  function rate(n: number | null | undefined): string {
    return n === undefined || n === null ? DASH : bytes(n) + '/s';
  }
  function ms(n: number | null | undefined): string {
    if (n === undefined || n === null) return DASH;
    return n < 10
      ? n.toFixed(2) + ' ms'
      : n < 1000
        ? n.toFixed(1) + ' ms'
        : (n / 1000).toFixed(2) + ' s';
  }
  function age(n: number): string {
    const s = Math.floor(n / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' m ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' m';
  }
  function line(vals: (number | null)[], w: number, h: number, color: string): string {
    const pts: string[] = [];
    const n = vals.length;
    let max = 0;
    for (const v of vals) if (v !== null && v > max) max = v;
    if (n < 2) return '';
    for (let i = 0; i < n; i++) {
      const v = vals[i];
      if (v === null || v === undefined) continue;
      const x = (i / (n - 1)) * (w - 2) + 1;
      const y = max > 0 ? h - 2 - (v / max) * (h - 4) : h - 2;
      pts.push(x.toFixed(1) + ',' + y.toFixed(1));
    }
    return pts.length > 1
      ? '<polyline fill="none" stroke="' +
          color +
          '" stroke-width="1.5" points="' +
          pts.join(' ') +
          '"/>'
      : '';
  }
  function peak(vals: (number | null)[]): number {
    let m = 0;
    for (const v of vals) if (v !== null && v > m) m = v;
    return m;
  }
  function spark(t: Trend): string {
    const w = 120;
    const h = 26;
    // Each line is scaled to its own maximum: the tooltip gives both scales.
    const scale =
      'last ' +
      t.throughput.length +
      ' samples · throughput peak ' +
      bytes(peak(t.throughput)) +
      '/s · rtt peak ' +
      ms(peak(t.rtt)).replace(/<[^>]*>/g, '');
    return (
      '<svg class="spark" width="' +
      w +
      '" height="' +
      h +
      '" viewBox="0 0 ' +
      w +
      ' ' +
      h +
      '" role="img" aria-label="' +
      esc(scale) +
      '">' +
      '<title>' +
      esc(scale) +
      '</title>' +
      line(t.throughput, w, h, 'var(--tput)') +
      line(t.rtt, w, h, 'var(--rtt)') +
      '</svg>'
    );
  }
  function row(c: Conn): string {
    const t = c.tcp;
    const named = c.who && !(c.identity && c.who === c.identity.address);
    const client = named
      ? esc(c.who) +
        '<span class="sub">' +
        esc(c.transport) +
        (c.transport === 'unix' ? '' : ' ' + esc(c.remote)) +
        '</span>'
      : esc(c.remote) + '<span class="sub">' + esc(c.transport) + '</span>';
    let route = DASH;
    const denied = c.route && c.route.decision === 'deny';
    const target =
      c.takeover && c.takeover.container
        ? '<span class="sub target" title="the container (and command) this stream is attached to">' +
          esc(
            '▸ ' + c.takeover.container + (c.takeover.command ? ' · ' + c.takeover.command : ''),
          ) +
          '</span>'
        : '';
    if (c.route) {
      route =
        target +
        esc(c.route.method + ' ' + c.route.path) +
        '<span class="sub">' +
        (c.route.pending
          ? '<span class="pending">in flight…</span>'
          : denied
            ? '<span class="deny">denied ' +
              esc(c.route.status + ' · ' + (c.route.reason || '')) +
              '</span>' +
              (c.route.rule ? ' · ' + esc(c.route.rule) : '')
            : esc((c.route.rule || c.route.decision) + ' · ' + c.route.status)) +
        '</span>';
    }
    const tb = c.takeover && c.takeover.bytes;
    return (
      '<tr data-id="' +
      c.id +
      '" data-state="' +
      c.state +
      '"' +
      (denied ? ' class="denied"' : '') +
      (c.takeover && c.takeover.control !== undefined
        ? ' data-control="' + c.takeover.control + '"'
        : '') +
      '>' +
      '<td class="mono">#' +
      c.id +
      '</td>' +
      '<td><span class="state ' +
      c.state +
      '">' +
      c.state +
      '</span>' +
      (c.takeover
        ? '<span class="sub">' + esc(c.takeover.kind + ' ' + c.takeover.protocol) + '</span>'
        : '') +
      (c.takeover && c.takeover.control !== undefined
        ? '<span class="sub control" title="the connection that created this exec / attached">↳ from #' +
          c.takeover.control +
          '</span>'
        : '') +
      '</td>' +
      '<td>' +
      client +
      '</td>' +
      '<td class="route mono">' +
      route +
      '</td>' +
      '<td class="num narrow-hide">' +
      age(c.age) +
      '<span class="sub">' +
      c.requests +
      ' req</span></td>' +
      '<td class="num" data-k="bytes" title="' +
      (tb ? 'stream: ' + tb.up + ' B up, ' + tb.down + ' B down; ' : '') +
      c.bytes.in +
      ' B in, ' +
      c.bytes.out +
      ' B out">' +
      bytes(c.bytes.in) +
      '<span class="sub">' +
      bytes(c.bytes.out) +
      '</span></td>' +
      '<td class="num narrow-hide" data-k="rtt">' +
      (t ? ms(t.rtt) : DASH) +
      '</td>' +
      '<td class="num wide" data-k="minRtt">' +
      (t ? ms(t.minRtt) : DASH) +
      '</td>' +
      '<td class="num wide" data-k="cwnd">' +
      (t ? t.cwnd + ' seg' : DASH) +
      '</td>' +
      '<td class="num narrow-hide" data-k="deliveryRate">' +
      (t ? rate(t.deliveryRate) : DASH) +
      '</td>' +
      '<td class="num wide" data-k="retrans">' +
      (t ? t.retrans + ' seg' : DASH) +
      '</td>' +
      '<td class="wide">' +
      spark(c.trend) +
      '</td></tr>'
    );
  }
  function dur(n: number): string {
    return n < 1000 ? Math.round(n) + ' ms' : age(n);
  }
  function clock(t: number): string {
    return new Date(t).toLocaleTimeString();
  }
  function sortValue(c: Conn, k: string): string | number {
    const t = c.tcp;
    switch (k) {
      case 'state':
        return c.state;
      case 'who':
        return (c.who || c.remote).toLowerCase();
      case 'route':
        return c.route ? (c.route.method + ' ' + c.route.path).toLowerCase() : '';
      case 'age':
        return c.age;
      case 'bytes':
        return c.bytes.in + c.bytes.out;
      case 'rtt':
      case 'minRtt':
      case 'cwnd':
      case 'deliveryRate':
      case 'retrans': {
        const v = t ? t[k] : undefined;
        return v === undefined || v === null ? -1 : v;
      }
      default:
        return c.id;
    }
  }
  function matches(c: Conn): boolean {
    if (!search) return true;
    const hay = [
      c.who,
      c.remote,
      c.transport,
      c.state,
      c.route ? c.route.method + ' ' + c.route.path + ' ' + (c.route.rule || '') : '',
      c.takeover ? c.takeover.kind + ' ' + c.takeover.protocol : '',
      '#' + c.id,
    ]
      .join(' ')
      .toLowerCase();
    return hay.indexOf(search.toLowerCase()) >= 0;
  }
  // The view's state lives in the address: a reload or a shared link shows the same.
  function remember(): void {
    const p = new URLSearchParams(location.search);
    p.delete('token');
    if (filter !== 'all') p.set('state', filter);
    else p.delete('state');
    if (search) p.set('q', search);
    else p.delete('q');
    if (sortKey !== 'id' || sortDir !== 'asc') {
      p.set('sort', sortKey);
      p.set('dir', sortDir);
    } else {
      p.delete('sort');
      p.delete('dir');
    }
    const qs = p.toString();
    history.replaceState(null, '', location.pathname + (qs ? '?' + qs : ''));
  }
  function table(title: string, id: string, head: string[], rows: string[], none: string): string {
    return (
      '<h2>' +
      title +
      '<b>' +
      rows.length +
      '</b></h2>' +
      (rows.length === 0
        ? '<p class="none">' + none + '</p>'
        : '<table><thead><tr>' +
          head
            .map(function (h) {
              return (
                '<th' +
                (h.charAt(0) === '#' ? ' class="num"' : '') +
                '>' +
                h.replace('#', '') +
                '</th>'
              );
            })
            .join('') +
          '</tr></thead><tbody id="' +
          id +
          '">' +
          rows.join('') +
          '</tbody></table>')
    );
  }
  function extras(s: Snapshot): void {
    $('denials').innerHTML = table(
      'Recent denials',
      'denial-rows',
      ['time', 'client', 'request', 'reason', 'rule', '#status'],
      (s.denials || []).map(function (d) {
        return (
          '<tr class="denied" data-reason="' +
          esc(d.reason) +
          '"><td>' +
          clock(d.time) +
          '</td><td>' +
          esc(d.who) +
          '</td><td class="mono">' +
          esc(d.method + ' ' + d.path) +
          '</td><td class="deny">' +
          esc(d.reason) +
          '</td><td class="mono">' +
          (d.rule ? esc(d.rule) : '<span class="dash">no rule matched</span>') +
          '</td><td class="num">' +
          d.status +
          '</td></tr>'
        );
      }),
      'No request refused yet.',
    );
    $('identities').innerHTML = table(
      'Per identity',
      'identity-rows',
      ['identity', '#connections', '#streams', '#bytes in / out', '#denials'],
      (s.identities || []).map(function (x) {
        return (
          '<tr data-who="' +
          esc(x.who) +
          '"><td>' +
          esc(x.who) +
          '</td><td class="num">' +
          x.connections +
          '</td><td class="num">' +
          x.streams +
          '</td><td class="num">' +
          bytes(x.bytes.in) +
          ' / ' +
          bytes(x.bytes.out) +
          '</td><td class="num' +
          (x.denials ? ' deny' : '') +
          '">' +
          x.denials +
          '</td></tr>'
        );
      }),
      'No identity seen yet.',
    );
    $('ended').innerHTML = table(
      'Recently ended',
      'ended-rows',
      ['id', 'client', 'route', 'end', '#lasted', '#bytes in / out'],
      (s.ended || []).map(function (e) {
        return (
          '<tr data-ended="' +
          e.id +
          '" data-end="' +
          esc(e.end) +
          '"><td class="mono">#' +
          e.id +
          '</td><td>' +
          esc(e.who || e.remote) +
          '</td><td class="mono">' +
          (e.route ? esc(e.route.method + ' ' + e.route.path) : DASH) +
          (e.takeover
            ? '<span class="sub">' +
              esc(
                e.takeover.kind +
                  ' ' +
                  e.takeover.protocol +
                  (e.takeover.container
                    ? ' · ' +
                      e.takeover.container +
                      (e.takeover.command ? ' · ' + e.takeover.command : '')
                    : ''),
              ) +
              '</span>'
            : '') +
          '</td><td' +
          (e.end === 'error' ? ' class="deny"' : '') +
          '>' +
          esc(e.end) +
          '</td><td class="num">' +
          dur(e.duration) +
          '</td><td class="num">' +
          bytes(e.bytes.in) +
          ' / ' +
          bytes(e.bytes.out) +
          '</td></tr>'
        );
      }),
      'No connection ended yet.',
    );
  }
  function filters(s: Snapshot): void {
    let html = '';
    STATES.forEach(function (st) {
      const n = st === 'all' ? s.connections.length : s.counts[st as keyof Snapshot['counts']];
      html +=
        '<button type="button" data-state="' +
        st +
        '" aria-pressed="' +
        (filter === st) +
        '">' +
        st +
        '<b>' +
        n +
        '</b></button>';
    });
    $('filters').innerHTML = html;
  }
  function render(s: Snapshot): void {
    last = s;
    $('listeners').textContent =
      s.listeners.join('  ') +
      '  ·  ' +
      s.takeovers +
      ' takeover' +
      (s.takeovers === 1 ? '' : 's') +
      ' open';
    filters(s);
    let shown = s.connections.filter(function (c) {
      return (filter === 'all' || c.state === filter) && matches(c);
    });
    shown.sort(function (a, b) {
      const x = sortValue(a, sortKey);
      const y = sortValue(b, sortKey);
      const r = x < y ? -1 : x > y ? 1 : a.id - b.id;
      return sortDir === 'desc' ? -r : r;
    });
    // A stream goes right under its control connection when both are shown.
    const byId: Record<number, Conn> = {};
    shown.forEach(function (c) {
      byId[c.id] = c;
    });
    const placed: Conn[] = [];
    shown.forEach(function (c) {
      if (c.takeover && c.takeover.control !== undefined && byId[c.takeover.control]) return;
      placed.push(c);
      shown.forEach(function (s) {
        if (s.takeover && s.takeover.control === c.id) placed.push(s);
      });
    });
    shown = placed;
    $('rows').innerHTML = shown.map(row).join('');
    const ths = document.querySelectorAll('th[data-sort]');
    for (let i = 0; i < ths.length; i++) {
      const th = ths[i]!;
      const k = th.getAttribute('data-sort');
      if (k === sortKey)
        th.setAttribute('aria-sort', sortDir === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    extras(s);
    $('table').hidden = shown.length === 0;
    $('empty').hidden = shown.length !== 0;
    $('empty').setAttribute('data-view', 'empty');
    $('empty').textContent =
      s.connections.length === 0
        ? 'No live connections. Send a request through the gateway.'
        : search
          ? 'No ' + (filter === 'all' ? '' : filter + ' ') + 'connection matches “' + search + '”.'
          : 'No ' + filter + ' connections.';
  }
  $('filters').addEventListener('click', function (e) {
    const b = (e.target as Element).closest('button');
    if (!b) return;
    filter = b.getAttribute('data-state')!;
    remember();
    if (last) render(last);
  });
  searchBox.value = search;
  searchBox.addEventListener('input', function () {
    search = searchBox.value.trim();
    remember();
    if (last) render(last);
  });
  document.querySelector('thead')!.addEventListener('click', function (e) {
    const th = (e.target as Element).closest('th[data-sort]');
    if (!th) return;
    const k = th.getAttribute('data-sort')!;
    if (k === sortKey) sortDir = sortDir === 'asc' ? 'desc' : 'asc';
    else {
      sortKey = k;
      sortDir = k === 'id' || k === 'who' || k === 'route' || k === 'state' ? 'asc' : 'desc';
    }
    remember();
    if (last) render(last);
  });
  function status(ok: boolean, text: string): void {
    const el = $('status');
    el.className = ok ? 'live' : 'down';
    el.textContent = text;
  }
  // Not showing data: why, in the place of the table (never "No live connections").
  function blank(view: string, html: string): void {
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
  function unauthorised(code: number): void {
    status(false, 'not authorised');
    blank(
      'unauthorised',
      (code === 403
        ? 'Not authorised: this client is not allowed here.'
        : 'Not authorised: the session ended or the token is no longer valid.') +
        ' <a href="login">Sign in</a>',
    );
  }
  function disconnected(): void {
    status(false, 'disconnected');
    blank('disconnected', 'Disconnected: the gateway does not answer. Retrying…');
  }
  // After a failure: ask once why (a refusal, or nothing answering), then retry.
  function diagnose(retry: () => void): void {
    fetch('connections.json' + suffix, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) {
          unauthorised(r.status);
          return;
        }
        if (!r.ok) throw new Error('status ' + r.status);
        return r.json().then(function (s: Snapshot) {
          status(true, 'polling');
          render(s);
          setTimeout(retry, 2000);
        });
      })
      .catch(function () {
        disconnected();
        setTimeout(retry, 2000);
      });
  }
  function poll(): void {
    fetch('connections.json' + suffix, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) {
          unauthorised(r.status);
          return;
        }
        return r.json().then(function (s: Snapshot) {
          status(true, 'polling');
          render(s);
          setTimeout(poll, 2000);
        });
      })
      .catch(function () {
        disconnected();
        setTimeout(poll, 2000);
      });
  }
  function stream(): void {
    const es = new EventSource('events' + suffix, { withCredentials: true });
    es.addEventListener('snapshot', function (e) {
      status(true, 'live');
      render(JSON.parse((e as MessageEvent<string>).data) as Snapshot);
    });
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
