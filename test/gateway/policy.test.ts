import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compilePolicy,
  normalizeTarget,
  parseRule,
  checkFraming,
} from '../../src/gateway/policy/index.js';
import { isHijackError } from '../../src/errors.js';
import type { PolicySpec, Rule } from '../../src/gateway/types.js';

const allow = (t: string): Rule => parseRule(t, 'allow', 'test');
const denyR = (t: string): Rule => parseRule(t, 'deny', 'test');
const spec = (rules: Rule[], blocks: PolicySpec['blocks'] = []): PolicySpec => ({ rules, blocks });
const decide = (p: ReturnType<typeof compilePolicy>, method: string, url: string) =>
  p.decide({ method, url });

test('parseRule: methods, placeholders, ** and query constraints', { timeout: 5000 }, () => {
  const r = parseRule('GET,head /images/**', 'allow', 'x');
  assert.deepEqual(r.methods, ['GET', 'HEAD']);
  assert.equal(r.path, '/images/**');
  assert.equal(parseRule('* /_ping', 'allow', 'x').methods, '*');
  const q = parseRule('DELETE /containers/{id}?!force&v=0|false&signal!=KILL', 'allow', 'x');
  assert.deepEqual(q.query, [
    { kind: 'flag-unset', name: 'force' },
    { kind: 'in', name: 'v', values: ['0', 'false'] },
    { kind: 'not-in', name: 'signal', values: ['KILL'] },
  ]);
});

test(
  'parseRule: bad rules throw ERR_CONFIG with a message that names the problem',
  { timeout: 5000 },
  () => {
    const cases: [string, RegExp][] = [
      ['GET /containers/{id', /rule 'GET \/containers\/\{id' has an unclosed placeholder/],
      ['GET', /is not 'METHOD PATH'/],
      ['GET containers/json', /does not start with \//],
      ['GET /images/**/json', /'\*\*' before the end/],
      ['GET /containers/*/json', /'\*' inside the segment/],
      ['GET /v1.41/containers/json', /without \/vX\.Y/],
      ['GET //containers', /empty path segment/],
      ['GET /containers/../exec', /dot segment/],
      ['G@T /x', /invalid method/],
      ['GET /x/{id}abc', /malformed placeholder/],
      ['GET /x?', /empty query/],
      ['GET /x?=v', /not name, !name/],
      ['GET /x?a$=1', /invalid query parameter name/],
      ['GET /a%2Fb', /percent-escape/],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseRule(text, 'allow', 'x'),
        (e: unknown) => isHijackError(e, 'ERR_CONFIG') && re.test((e as Error).message),
        text,
      );
    }
  },
);

test(
  'normalizeTarget: folds the version prefix and keeps Docker names working',
  { timeout: 5000 },
  () => {
    const t = normalizeTarget('/v1.41/containers/my_app-1/json?all=1');
    assert.ok(t.ok);
    assert.equal(t.folded, '/containers/my_app-1/json');
    assert.equal(t.apiVersion, '1.41');
    assert.equal(t.target, '/v1.41/containers/my_app-1/json?all=1');
    assert.deepEqual(t.params.get('all'), ['1']);
    const img = normalizeTarget('/images/registry.example:5000/team/app:1.2@sha256:abc/json');
    assert.ok(img.ok);
    const enc = normalizeTarget('/containers/%61pp/json');
    assert.ok(enc.ok);
    assert.equal(enc.folded, '/containers/app/json');
    assert.equal(enc.target, '/containers/app/json', 'forwarded target is what was matched');
    const root = normalizeTarget('/v1.41');
    assert.ok(root.ok);
    assert.equal(root.folded, '/');
  },
);

test(
  'normalizeTarget: refuses ambiguous targets with 400 and long ones with 414',
  { timeout: 5000 },
  () => {
    const bad = [
      '/containers/a%2Fb/json',
      '/containers/a%2fb/json',
      '/containers/%2e%2e/exec',
      '/containers/%2E/json',
      '/containers/a%5cb',
      '/containers/a%00/json',
      '/containers/a%252F',
      '/containers/./json',
      '/containers/../exec',
      '/containers//json',
      '/containers/json/',
      '/containers\\json',
      '/containers/a\u0000b',
      '/containers/a\tb',
      '/containers/\u00e9',
      'http://docker/containers/json',
      'HTTP://docker/containers/json',
      'docker:2375',
      '*',
      'containers/json',
      '/containers/json#x',
      '/containers/a;b/json',
      '/containers/a%zz',
      '/containers/a%',
      '/v1.41.1/containers/json',
      '/v1..2/containers/json',
      '/v1.41/v1.40/containers/json',
      '/containers/json?a=%zz',
      '/containers/json?a=1;b=2',
      '/containers/a%3Fb',
      '/containers/a%20b',
      '/containers/a%C3%A9',
    ];
    for (const url of bad) {
      const t = normalizeTarget(url);
      assert.equal(t.ok, false, url);
      if (!t.ok) assert.equal(t.status, 400, url);
    }
    const long = normalizeTarget('/' + 'a'.repeat(5000));
    assert.ok(!long.ok && long.status === 414);
    assert.ok(normalizeTarget('/' + 'a'.repeat(4095)).ok);
    assert.ok(!normalizeTarget('/' + 'a'.repeat(100), 50).ok);
  },
);

test(
  'policy: deny by default, allow rules, {id} matches one segment, ** the rest',
  { timeout: 5000 },
  () => {
    const p = compilePolicy(
      spec([
        allow('GET /containers/json'),
        allow('POST /containers/{id}/exec'),
        allow('GET,HEAD /images/**'),
      ]),
    );
    assert.equal(decide(p, 'GET', '/v1.41/containers/json').action, 'allow');
    assert.equal(decide(p, 'POST', '/containers/my_app-1/exec').action, 'allow');
    // dockerd binds {name:.*} across segments: a/b is one container name on the exec route.
    assert.equal(decide(p, 'POST', '/containers/a/b/exec').status, 200);
    assert.equal(decide(p, 'GET', '/images/library/ubuntu:22.04/json').action, 'allow');
    assert.equal(decide(p, 'HEAD', '/images/x').action, 'allow');
    assert.equal(decide(p, 'GET', '/images').action, 'allow', '** also matches nothing');
    assert.equal(decide(p, 'GET', '/imagesX/json').status, 403, 'segments, not prefixes');
    const d = decide(p, 'GET', '/volumes');
    assert.equal(d.status, 403);
    assert.ok(
      d.action === 'deny' &&
        d.reason === 'no-rule' &&
        d.message.startsWith('hijack gateway: GET /volumes is not allowed'),
    );
    assert.equal(decide(p, 'GET', '/Containers/json').status, 403, 'case-sensitive like dockerd');
  },
);

test('policy: deny rules win over allow rules, whatever the order', { timeout: 5000 }, () => {
  for (const rules of [
    [allow('* /containers/**'), denyR('POST /containers/{id}/exec')],
    [denyR('POST /containers/{id}/exec'), allow('* /containers/**')],
  ]) {
    const p = compilePolicy(spec(rules));
    const d = decide(p, 'POST', '/v1.41/containers/web/exec');
    assert.equal(d.status, 403);
    assert.ok(d.action === 'deny');
    assert.equal(d.reason, 'denied-by-rule');
    assert.match(
      d.message,
      /^hijack gateway: POST \/containers\/web\/exec is not allowed by the policy \(rule: deny POST \/containers\/\{id\}\/exec from test\)$/,
    );
    assert.equal(decide(p, 'POST', '/containers/web/start').action, 'allow');
  }
});

test(
  'policy: 405 with Allow when no rule names the method; 403 otherwise',
  { timeout: 5000 },
  () => {
    const p = compilePolicy(spec([allow('GET,HEAD /containers/json'), allow('GET /info')]));
    const d = decide(p, 'DELETE', '/containers/json');
    assert.equal(d.status, 405);
    assert.ok(d.action === 'deny' && d.headers.allow === 'GET, HEAD');
    const e = decide(p, 'PUT', '/nowhere');
    assert.ok(e.action === 'deny' && e.status === 405 && e.headers.allow === undefined);
    assert.equal(decide(p, 'GET', '/version').status, 403);
    assert.equal(decide(p, 'CONNECT', 'docker:443').status, 405);
  },
);

test('policy: query constraints (Docker booleans, allowed values)', { timeout: 5000 }, () => {
  const p = compilePolicy(
    spec([
      allow('DELETE /containers/{id}?!force'),
      allow('POST /containers/{id}/kill?signal=SIGTERM|SIGINT'),
      allow('POST /containers/create'),
      denyR('POST /containers/create?name=evil'),
      allow('GET /containers/{id}/logs?since!=0'),
    ]),
  );
  assert.equal(decide(p, 'DELETE', '/containers/a').action, 'allow');
  assert.equal(decide(p, 'DELETE', '/containers/a?force=0').action, 'allow');
  assert.equal(decide(p, 'DELETE', '/containers/a?force=false').action, 'allow');
  for (const q of [
    'force=1',
    'force=true',
    'force=yes',
    'force=%31',
    'force=TRUE',

    'f%6frce=1',
    'force=+1',
  ])
    assert.equal(decide(p, 'DELETE', `/containers/a?${q}`).status, 403, q);
  assert.equal(decide(p, 'POST', '/containers/a/kill?signal=SIGTERM').action, 'allow');
  assert.equal(decide(p, 'POST', '/containers/a/kill').status, 403, 'in: parameter required');
  assert.equal(
    decide(p, 'POST', '/containers/a/kill?signal=SIGTERM&signal=SIGKILL').status,
    400,
    'repeated checked parameter',
  );
  assert.equal(decide(p, 'DELETE', '/containers/a?force=0&force=1').status, 400);
  assert.equal(
    decide(p, 'DELETE', '/containers/a?v=0&v=1').action,
    'allow',
    'unchecked parameters may repeat',
  );
  assert.equal(decide(p, 'POST', '/containers/create?name=ok').action, 'allow');
  assert.equal(decide(p, 'POST', '/containers/create?name=evil').status, 403);
  assert.equal(decide(p, 'POST', '/containers/create?name=%65vil').status, 403);
  assert.equal(decide(p, 'POST', '/containers/create?n%61me=evil').status, 403);
  assert.equal(decide(p, 'GET', '/containers/a/logs').action, 'allow');
  assert.equal(decide(p, 'GET', '/containers/a/logs?since=0').status, 403);
});

test('policy: identity-scoped blocks apply only to matching clients', { timeout: 5000 }, () => {
  const p = compilePolicy(
    spec(
      [allow('GET /containers/json')],
      [
        { when: { token: ['ci'] }, rules: [allow('POST /containers/{id}/exec')] },
        { when: { uid: [1000] }, rules: [allow('POST /exec/{id}/start')] },
        { when: { cidr: ['10.0.0.0/8'] }, rules: [denyR('GET /containers/json')] },
      ],
    ),
  );
  const exec = { method: 'POST', url: '/containers/x/exec' };
  assert.equal(p.decide(exec).status, 403);
  assert.equal(
    p.decide(exec, { transport: 'tcp', address: '127.0.0.1', token: 'other' }).status,
    403,
  );
  assert.equal(
    p.decide(exec, { transport: 'tcp', address: '127.0.0.1', token: 'ci' }).action,
    'allow',
  );
  const start = { method: 'POST', url: '/exec/x/start' };
  assert.equal(
    p.decide(start, { transport: 'unix', peer: { pid: 1, uid: 1000, gid: 1000 } }).action,
    'allow',
  );
  assert.equal(
    p.decide(start, { transport: 'unix', peer: { pid: 1, uid: 0, gid: 0 } }).status,
    403,
  );
  const ps = { method: 'GET', url: '/containers/json' };
  assert.equal(p.decide(ps, { transport: 'tcp', address: '::ffff:10.1.2.3' }).status, 403);
  assert.equal(p.decide(ps, { transport: 'tcp', address: '127.0.0.1' }).action, 'allow');
});

test('policy: decideConnect checks the forward-proxy allowlist', { timeout: 5000 }, () => {
  const p = compilePolicy(spec([]));
  const fwd = { enabled: true, connectAllow: ['registry.example:443', '*:8443', 'db.local:*'] };
  assert.equal(p.decideConnect('registry.example:443', fwd).action, 'allow');
  assert.equal(p.decideConnect('REGISTRY.example:443', fwd).action, 'allow');
  assert.equal(p.decideConnect('other:8443', fwd).action, 'allow');
  assert.equal(p.decideConnect('db.local:5432', fwd).action, 'allow');
  assert.equal(p.decideConnect('registry.example:80', fwd).status, 403);
  assert.equal(p.decideConnect('registry.example', fwd).status, 400);
  assert.equal(p.decideConnect('a:0', fwd).status, 400);
  assert.equal(
    p.decideConnect('registry.example:443', { enabled: false, connectAllow: [] }).status,
    405,
  );
});

test('checkFraming: refuses smuggling shapes, passes ordinary requests', { timeout: 5000 }, () => {
  const req = (rawHeaders: string[], httpVersion = '1.1', method = 'POST') =>
    checkFraming({ method, httpVersion, rawHeaders });
  assert.equal(req(['Host', 'd', 'Content-Length', '5']), undefined);
  assert.equal(req(['Host', 'd', 'Transfer-Encoding', 'chunked']), undefined);
  assert.equal(req(['Host', 'd', 'Transfer-Encoding', 'Chunked']), undefined);
  assert.equal(req([], '1.0', 'GET'), undefined);
  const refused: [string[], string?, string?][] = [
    [['Host', 'd', 'Content-Length', '5', 'Transfer-Encoding', 'chunked']],
    [['Host', 'd', 'Content-Length', '5', 'Content-Length', '5']],
    [['Host', 'd', 'Content-Length', '5, 5']],
    [['Host', 'd', 'Content-Length', '+5']],
    [['Host', 'd', 'Content-Length', '0x5']],
    [['Host', 'd', 'Content-Length', '-1']],
    [['Host', 'd', 'Content-Length', '99999999999999999999']],
    [['Host', 'd', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked']],
    [['Host', 'd', 'Transfer-Encoding', 'chunked, chunked']],
    [['Host', 'd', 'Transfer-Encoding', 'gzip, chunked']],
    [['Host', 'd', 'Transfer-Encoding', 'identity']],
    [['Host', 'd', 'Transfer-Encoding', 'xchunked']],
    [['Host', 'd', 'Transfer-Encoding', 'chunked'], '1.0'],
    [['Host', 'd', 'X', 'a\r\n b']],
    [['Content-Length', '0']],
    [['Host', 'a', 'Host', 'b']],
    [['Host', 'd', 'Content-Type', 'application/x-www-form-urlencoded', 'Content-Length', '7']],
    [
      [
        'Host',
        'd',
        'Content-Type',
        'Application/X-WWW-Form-Urlencoded; charset=utf-8',
        'Transfer-Encoding',
        'chunked',
      ],
    ],
  ];
  for (const [h, v] of refused) {
    const d = req(h, v);
    assert.ok(d, JSON.stringify(h));
    assert.equal(d.status, 400);
    assert.equal(d.reason, 'bad-framing');
  }
  assert.equal(
    req(['Host', 'd', 'Content-Type', 'application/x-www-form-urlencoded', 'Content-Length', '0']),
    undefined,
  );
});
