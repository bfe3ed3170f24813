import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseConfigText,
  parseDuration,
  parseEndpoint,
  presetRules,
  tecnativaRules,
} from '../../src/gateway/config/index.js';
import { parseGatewayArgs, exitCodeFor, formatCliError } from '../../src/cli/gateway-args.js';
import { compilePolicy } from '../../src/gateway/policy/index.js';
import { HijackError, isHijackError } from '../../src/errors.js';

function tmp(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'hijack-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
function fails(fn: () => unknown, code: 'ERR_USAGE' | 'ERR_CONFIG', re: RegExp) {
  assert.throws(fn, (e: unknown) => isHijackError(e, code) && re.test((e as Error).message));
}

test('durations and endpoints', { timeout: 5000 }, () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['30', '5 m', 'm', '-1s', '1d', '100000h'])
    fails(() => parseDuration(bad), 'ERR_CONFIG', /duration|24 days/);
  assert.deepEqual(parseEndpoint('tcp://127.0.0.1:2375', 'listen', 'x'), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 2375,
  });
  assert.deepEqual(parseEndpoint('tcp://[::1]:2375', 'listen', 'x'), {
    kind: 'tcp',
    host: '::1',
    port: 2375,
  });
  assert.deepEqual(parseEndpoint('unix:///run/d.sock?mode=0660&owner=1000:998', 'listen', 'x'), {
    kind: 'unix',
    path: '/run/d.sock',
    mode: 0o660,
    uid: 1000,
    gid: 998,
  });
  fails(
    () => parseEndpoint('unix:///run/d.sock?mode=0660', 'upstream', '--upstream'),
    'ERR_CONFIG',
    /only for listeners/,
  );
  fails(() => parseEndpoint('unix://rel.sock', 'listen', 'x'), 'ERR_CONFIG', /absolute/);
  fails(() => parseEndpoint('http://x:1', 'listen', 'x'), 'ERR_CONFIG', /unknown scheme/);
  fails(() => parseEndpoint('tcp://x', 'listen', 'x'), 'ERR_CONFIG', /host:port/);
  fails(() => parseEndpoint('tcp://x:70000', 'listen', 'x'), 'ERR_CONFIG', /out of range/);
  fails(() => parseEndpoint('unix:///x?mode=999', 'listen', 'x'), 'ERR_CONFIG', /octal/);
});

test('config file: every key, relative paths, rule positions', { timeout: 5000 }, (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'tokens'), 'ci: ci-token-0123456789abcdef\n');
  const yaml = `listen:
  - tcp://127.0.0.1:2375
  - unix:///run/hijack.sock?mode=0660
upstream: unix:///var/run/docker.sock
preset: readonly
allow:
  - GET /images/json
deny:
  - POST /containers/{id}/exec
blocks:
  - when: { token: [ci] }
    allow: ['POST /containers/{id}/exec']
auth:
  tokenFile: tokens
  allowCidr: [127.0.0.0/8]
timeouts: { connect: 5s, head: 10s, idle: 1m, stream: 0 }
logLevel: debug
metricsListen: tcp://127.0.0.1:9100
`;
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  const o = parseGatewayArgs(['--config', file], {});
  assert.equal(o.listen.length, 2);
  assert.equal(o.timeouts.connect, 5000);
  assert.equal(o.timeouts.stream, 0);
  assert.equal(o.logLevel, 'debug');
  assert.equal(o.auth.tokens[0]!.name, 'ci');
  assert.equal(o.policy.blocks.length, 1);
  const deny = o.policy.rules.find((r) => r.effect === 'deny')!;
  assert.equal(deny.source, `${file}:9:5`);
  const p = compilePolicy(o.policy);
  const d = p.decide(
    { method: 'POST', url: '/containers/x/exec' },
    { transport: 'tcp', token: 'ci' },
  );
  assert.equal(d.status, 403, 'deny wins over the block allow');
  assert.equal(p.decide({ method: 'GET', url: '/v1.41/images/json' }).action, 'allow');
  // JSON works too
  writeFileSync(
    join(dir, 'g.json'),
    JSON.stringify({ allow: ['GET /_ping'], timeouts: { head: '2s' } }),
  );
  assert.equal(parseGatewayArgs(['--config', join(dir, 'g.json')]).timeouts.head, 2000);
});

test('config file errors carry file:line:col', { timeout: 5000 }, () => {
  const cases: [string, RegExp][] = [
    [
      'allow:\n  - GET /x\n  - GET /containers/{id\n',
      /^c\.yaml:3:5: rule 'GET \/containers\/\{id' has an unclosed placeholder$/,
    ],
    ['allow:\n  - GET /x\nlistn: tcp://1.2.3.4:1\n', /^c\.yaml:3:1: unknown key 'listn'/],
    ['timeouts:\n  head: 30\n', /^c\.yaml:2:9: timeouts\.head 30: add a unit/],
    ['upstream: http://x\n', /^c\.yaml:1:11: upstream 'http:\/\/x': unknown scheme/],
    ['allow: [GET /x\n', /^c\.yaml:\d+:\d+: /],
    ['preset: bogus\n', /^c\.yaml:1:9: unknown preset 'bogus'/],
    ['auth:\n  allowCidr: [10.0.0.0/40]\n', /^c\.yaml:2:15: CIDR '10\.0\.0\.0\/40'/],
    ['blocks:\n  - allow: [GET /x]\n', /^c\.yaml:2:5: a block needs a non-empty 'when'/],
    ['allow: GET /x\nallow: GET /y\n', /^c\.yaml:2:1: /],
    ['- GET /x\n', /^c\.yaml:1:1: the config file must be a mapping/],
    ['allow:\n  - 12\n', /^c\.yaml:2:5: rule '12' is not 'METHOD PATH'/],
    ['logLevel: loud\n', /^c\.yaml:1:11: log level 'loud'/],
  ];
  for (const [text, re] of cases) fails(() => parseConfigText(text, 'c.yaml'), 'ERR_CONFIG', re);
});

test(
  'flags: repeatable, env vars, precedence, one-line errors, exit codes',
  { timeout: 5000 },
  (t) => {
    const dir = tmp(t);
    const o = parseGatewayArgs(
      [
        '--listen',
        'tcp://127.0.0.1:1',
        '--listen',
        'unix:///tmp/x.sock',
        '--allow',
        'GET /a',
        '--allow',
        'GET /b',
        '--deny',
        'GET /b',
        '--stream-timeout',
        '0',
      ],
      {
        HIJACK_GATEWAY_UPSTREAM: 'tcp://127.0.0.1:2376',
        HIJACK_GATEWAY_ALLOW: 'GET /c; GET,HEAD /d/**',
        HIJACK_GATEWAY_LISTEN: 'tcp://127.0.0.1:9',
      },
    );
    assert.deepEqual(
      o.listen.map((l) => l.kind),
      ['tcp', 'unix'],
      'flags win over env for listen',
    );
    assert.deepEqual(o.upstream, { kind: 'tcp', host: '127.0.0.1', port: 2376 });
    assert.deepEqual(
      o.policy.rules.map((r) => `${r.effect} ${r.text}`),
      ['allow GET /c', 'allow GET,HEAD /d/**', 'allow GET /a', 'allow GET /b', 'deny GET /b'],
    );
    assert.deepEqual(o.timeouts, {
      connect: 10_000,
      head: 30_000,
      idle: 300_000,
      stream: 0,
      body: 30_000,
      queue: 10_000,
    });
    const lim = parseGatewayArgs(
      [
        '--preset',
        'readonly',
        '--max-streams',
        '8',
        '--max-body',
        '64KiB',
        '--queue-timeout',
        '2s',
      ],
      { HIJACK_GATEWAY_MAX_STREAMS_PER_IDENTITY: '2' },
    );
    assert.deepEqual(lim.limits, {
      connections: 4096,
      connectionsPerIdentity: 0,
      streams: 8,
      streamsPerIdentity: 2,
      maxBody: 65536,
    });
    assert.equal(lim.timeouts.queue, 2000);
    assert.throws(() => parseGatewayArgs(['--preset', 'readonly', '--max-body', '12 parsecs']), {
      code: 'ERR_USAGE',
      message: /--max-body/,
    });
    assert.deepEqual(parseGatewayArgs(['--preset', 'readonly']).upstream, {
      kind: 'unix',
      path: '/var/run/docker.sock',
    });
    writeFileSync(join(dir, 'c.yaml'), 'allow: [GET /x]\nlogLevel: warn\n');
    assert.equal(
      parseGatewayArgs([], { HIJACK_GATEWAY_CONFIG: join(dir, 'c.yaml') }).logLevel,
      'warn',
    );
    assert.equal(
      parseGatewayArgs(['--log-level', 'error'], { HIJACK_GATEWAY_CONFIG: join(dir, 'c.yaml') })
        .logLevel,
      'error',
    );

    fails(() => parseGatewayArgs(['--bogus']), 'ERR_USAGE', /unknown option '--bogus'/);
    fails(
      () => parseGatewayArgs(['extra', '--preset', 'readonly']),
      'ERR_USAGE',
      /too many arguments/,
    );
    fails(
      () => parseGatewayArgs(['--allow', 'GET /containers/{id']),
      'ERR_USAGE',
      /^--allow: rule 'GET \/containers\/\{id' has an unclosed placeholder$/,
    );
    fails(() => parseGatewayArgs(['--preset', 'nope']), 'ERR_USAGE', /unknown preset 'nope'/);
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--idle-timeout', '5']),
      'ERR_USAGE',
      /--idle-timeout: .*add a unit|not a duration/,
    );
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--log-level', 'loud']),
      'ERR_USAGE',
      /loud/,
    );
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--allow-cidr', 'x/8']),
      'ERR_USAGE',
      /--allow-cidr/,
    );
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--allow-uid', 'root']),
      'ERR_USAGE',
      /--allow-uid/,
    );
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--listen', 'tls://127.0.0.1:1']),
      'ERR_CONFIG',
      /needs --tls-cert and --tls-key/,
    );
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--connect-allow', 'a:1']),
      'ERR_CONFIG',
      /needs --forward-proxy/,
    );
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--forward-proxy']),
      'ERR_CONFIG',
      /at least one --connect-allow/,
    );
    fails(
      () =>
        parseGatewayArgs(['--preset', 'readonly', '--forward-proxy', '--connect-allow', 'nohost']),
      'ERR_CONFIG',
      /not host:port/,
    );
    fails(() => parseGatewayArgs([]), 'ERR_CONFIG', /no allow rule/);
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--token-file', join(dir, 'missing')]),
      'ERR_CONFIG',
      /cannot read the token file/,
    );
    fails(
      () => parseGatewayArgs(['--preset', 'readonly', '--metrics-listen', 'tls://1.2.3.4:1']),
      'ERR_USAGE',
      /--metrics-listen/,
    );
    fails(
      () => parseGatewayArgs(['--config', join(dir, 'nope.yaml')]),
      'ERR_CONFIG',
      /cannot read the config file/,
    );
    fails(
      () => parseGatewayArgs([], { HIJACK_GATEWAY_ALLOW: 'GET x' }),
      'ERR_CONFIG',
      /^env HIJACK_GATEWAY_ALLOW: rule 'GET x'/,
    );
    assert.ok(
      parseGatewayArgs(['--preset', 'exec', '--forward-proxy', '--connect-allow', 'registry:443'])
        .forwardProxy.enabled,
    );

    try {
      parseGatewayArgs(['--help']);
      assert.fail('help must throw');
    } catch (e) {
      const h = (e as HijackError & { helpText: string }).helpText;
      for (const f of [
        '--listen',
        '--upstream',
        '--config',
        '--allow',
        '--deny',
        '--preset',
        '--token-file',
        '--allow-cidr',
        '--allow-uid',
        '--allow-gid',
        '--connect-timeout',
        '--head-timeout',
        '--idle-timeout',
        '--stream-timeout',
        '--forward-proxy',
        '--connect-allow',
        '--log-level',
        '--metrics-listen',
        '--live-listen',
        '--tls-cert',
        '--tls-key',
        '--tls-ca',
        'HIJACK_GATEWAY_LISTEN',
        'Exit codes',
      ]) {
        assert.ok(h.includes(f), `help mentions ${f}`);
      }
    }
    assert.equal(exitCodeFor(new HijackError('ERR_USAGE', 'x')), 2);
    assert.equal(exitCodeFor(new HijackError('ERR_CONFIG', 'x')), 2);
    assert.equal(exitCodeFor(new HijackError('ERR_UPSTREAM', 'x')), 1);
    assert.equal(formatCliError(new HijackError('ERR_CONFIG', 'a\nb')), 'hijack gateway: a');
  },
);

test('presets: readonly, exec, tecnativa env with the same meanings', { timeout: 5000 }, () => {
  const ro = compilePolicy({ rules: presetRules('readonly'), blocks: [] });
  for (const [m, u] of [
    ['HEAD', '/_ping'],
    ['GET', '/v1.41/containers/json'],
    ['GET', '/containers/x/json'],
    ['GET', '/containers/x/logs?follow=1'],
    ['GET', '/events'],
    ['GET', '/version'],
    ['GET', '/info'],
  ])
    assert.equal(ro.decide({ method: m!, url: u! }).action, 'allow', `${m} ${u}`);
  assert.notEqual(ro.decide({ method: 'POST', url: '/containers/x/exec' }).action, 'allow');
  const ex = compilePolicy({ rules: presetRules('exec'), blocks: [] });
  for (const u of [
    '/containers/x/exec',
    '/exec/e/start',
    '/exec/e/resize',
    '/containers/x/attach',
    '/containers/x/wait',
  ])
    assert.equal(ex.decide({ method: 'POST', url: u }).action, 'allow', u);
  assert.equal(ex.decide({ method: 'GET', url: '/exec/e/json' }).action, 'allow');
  assert.equal(ex.decide({ method: 'POST', url: '/containers/create' }).status, 403);

  const tec = (env: Record<string, string>) =>
    compilePolicy({ rules: tecnativaRules(env), blocks: [] });
  const def = tec({});
  assert.equal(
    def.decide({ method: 'GET', url: '/v1.41/version' }).action,
    'allow',
    'VERSION defaults to 1',
  );
  assert.equal(def.decide({ method: 'HEAD', url: '/_ping' }).action, 'allow', 'PING defaults to 1');
  assert.equal(
    def.decide({ method: 'GET', url: '/events' }).action,
    'allow',
    'EVENTS defaults to 1',
  );
  assert.equal(def.decide({ method: 'GET', url: '/containers/json' }).status, 403);
  const c = tec({ CONTAINERS: '1' });
  assert.equal(c.decide({ method: 'GET', url: '/containers/json' }).action, 'allow');
  assert.equal(
    c.decide({ method: 'HEAD', url: '/containers/x/json' }).action,
    'allow',
    'POST=0: GET and HEAD',
  );
  assert.equal(
    c.decide({ method: 'POST', url: '/containers/x/start' }).status,
    405,
    'POST=0 refuses other methods',
  );
  const noping = tec({ PING: '0', VERSION: '0', EVENTS: '0', INFO: '1' });
  assert.equal(noping.decide({ method: 'GET', url: '/_ping' }).status, 403);
  assert.equal(noping.decide({ method: 'GET', url: '/info' }).action, 'allow');
  const post = tec({ CONTAINERS: '1', EXEC: '1', POST: '1' });
  assert.equal(post.decide({ method: 'POST', url: '/containers/x/exec' }).action, 'allow');
  assert.equal(post.decide({ method: 'POST', url: '/exec/e/start' }).action, 'allow');
  assert.equal(post.decide({ method: 'DELETE', url: '/containers/x' }).action, 'allow');
  assert.equal(post.decide({ method: 'POST', url: '/images/create' }).status, 403);
  const start = tec({ POST: '1', ALLOW_START: '1' });
  assert.equal(start.decide({ method: 'POST', url: '/containers/x/start' }).action, 'allow');
  assert.equal(start.decide({ method: 'POST', url: '/containers/x/stop' }).status, 403);
  const restarts = tec({ POST: '1', ALLOW_RESTARTS: '1' });
  for (const a of ['stop', 'restart', 'kill'])
    assert.equal(restarts.decide({ method: 'POST', url: `/containers/x/${a}` }).action, 'allow');
  assert.equal(
    tec({ ALLOW_START: '1' }).decide({ method: 'POST', url: '/containers/x/start' }).status,
    405,
    'needs POST=1 as in haproxy.cfg',
  );
  for (const k of [
    'IMAGES',
    'NETWORKS',
    'VOLUMES',
    'AUTH',
    'BUILD',
    'COMMIT',
    'CONFIGS',
    'DISTRIBUTION',
    'GRPC',
    'NODES',
    'PLUGINS',
    'SECRETS',
    'SERVICES',
    'SESSION',
    'SWARM',
    'SYSTEM',
    'TASKS',
  ]) {
    const path = k === 'PING' ? '_ping' : k.toLowerCase();
    assert.equal(tec({ [k]: '1' }).decide({ method: 'GET', url: `/${path}/x` }).action, 'allow', k);
    assert.equal(
      tec({}).decide({ method: 'GET', url: `/${path}/x` }).status,
      403,
      `${k} default off`,
    );
  }
  fails(
    () => tecnativaRules({ CONTAINERS: 'yes' }),
    'ERR_CONFIG',
    /env CONTAINERS="yes": use 1 or 0/,
  );
  const o = parseGatewayArgs(['--preset', 'tecnativa'], {
    CONTAINERS: '1',
    SOCKET_PATH: '/run/docker.sock',
    LOG_LEVEL: 'warning',
  });
  assert.deepEqual(o.listen, [{ kind: 'tcp', host: '::', port: 2375 }]);
  assert.deepEqual(o.upstream, { kind: 'unix', path: '/run/docker.sock' });
  assert.equal(o.logLevel, 'warn');
  assert.equal(
    parseGatewayArgs(['--preset', 'tecnativa'], { DISABLE_IPV6: '1' }).listen[0]!.kind === 'tcp' &&
      (
        parseGatewayArgs(['--preset', 'tecnativa'], { DISABLE_IPV6: '1' }).listen[0] as {
          host: string;
        }
      ).host,
    '0.0.0.0',
  );
});
