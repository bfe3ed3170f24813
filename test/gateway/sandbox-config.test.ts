import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';
import { compilePolicy } from '../../src/gateway/policy/index.js';
import { isHijackError } from '../../src/errors.js';
import { admitBody } from '../../src/gateway/policy/body-check.js';

test('sandbox preset: flags give the routes and the body rules', () => {
  const o = parseGatewayArgs(
    [
      '--preset',
      'sandbox',
      '--allow-bind-root',
      '/srv/work/',
      '--allow-bind-root',
      '/tmp//x',
      '--allow-image',
      'mini:*',
    ],
    {},
  );
  const body = o.policy.body!;
  assert.equal(body.source, 'preset sandbox');
  assert.deepEqual(body.bindRoots, ['/srv/work', '/tmp/x']);
  assert.deepEqual(body.images, ['mini:*']);
  assert.equal(body.privileged, false);
  const p = compilePolicy(o.policy);
  assert.equal(p.decide({ method: 'POST', url: '/v1.41/containers/create' }).action, 'allow');
  assert.equal(p.decide({ method: 'POST', url: '/containers/abc/exec' }).action, 'allow');
  assert.equal(p.decide({ method: 'DELETE', url: '/containers/abc' }).action, 'allow');
  assert.equal(p.decide({ method: 'POST', url: '/images/create?fromImage=x' }).action, 'deny');
  assert.equal(p.bodyRules(), body);
  // Without the preset, no body is read.
  assert.equal(
    compilePolicy(parseGatewayArgs(['--preset', 'exec'], {}).policy).bodyRules(),
    undefined,
  );
  const open = parseGatewayArgs(['--preset', 'sandbox'], {}).policy.body!;
  assert.deepEqual(open.bindRoots, []);
  assert.equal(open.images, '*');
});

test('sandbox preset: the flags need the preset; roots must be absolute', () => {
  for (const args of [
    ['--preset', 'exec', '--allow-bind-root', '/srv'],
    ['--preset', 'exec', '--allow-image', 'x'],
    ['--preset', 'sandbox', '--allow-bind-root', 'srv'],
  ]) {
    assert.throws(
      () => parseGatewayArgs(args, {}),
      (e: unknown) => isHijackError(e),
      args.join(' '),
    );
  }
});

test('sandbox preset: config file keys allowBindRoot and allowImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-sb-'));
  try {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, 'preset: sandbox\nallowBindRoot: [/srv/work]\nallowImage: [mini:latest]\n');
    const o = parseGatewayArgs(['--config', file], {});
    assert.deepEqual(o.policy.body!.bindRoots, ['/srv/work']);
    assert.deepEqual(o.policy.body!.images, ['mini:latest']);
    writeFileSync(file, 'preset: sandbox\nallowBindRoot: [srv]\n');
    assert.throws(
      () => parseGatewayArgs(['--config', file], {}),
      /gateway.yaml:2:\d+: allowBindRoot 'srv' is not an absolute path/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('body rules in the config file: top level and per block, refusals name file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-body-'));
  try {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      [
        'preset: exec',
        "allow: ['POST /containers/create']",
        'body:',
        '  bindRoots: [/srv/work/]',
        '  capAdd: [cap_net_bind_service]',
        '  requireLimits: { memory: true }',
        'blocks:',
        '  - when: { uid: [0] }',
        '    body: { privileged: true, bindRoots: "*" }',
        '',
      ].join('\n'),
    );
    const o = parseGatewayArgs(['--config', file], {});
    const top = o.policy.body!;
    assert.equal(top.source, `${file}:3`);
    assert.deepEqual(top.bindRoots, ['/srv/work']);
    assert.deepEqual(top.capAdd, ['NET_BIND_SERVICE']);
    assert.equal(top.privileged, false);
    assert.equal(top.requireLimits.memory, true);
    const p = compilePolicy(o.policy);
    const unix = { transport: 'unix' as const, peer: { pid: 1, uid: 0, gid: 0 } };
    assert.equal(p.bodyRules(unix)!.privileged, true);
    assert.equal(p.bodyRules(unix)!.bindRoots, '*');
    assert.equal(
      p.bodyRules({ transport: 'unix' as const, peer: { pid: 1, uid: 1000, gid: 1000 } }),
      top,
    );
    const check = {
      kind: 'container-create' as const,
      rules: top,
      limit: 1 << 20,
      route: 'POST /containers/create',
    };
    const d = admitBody(
      check,
      Buffer.from('{"HostConfig":{"Privileged":true,"Memory":1}}'),
      '/containers/create',
    );
    assert.equal(d?.status, 403);
    assert.equal(
      d?.message,
      `hijack gateway: HostConfig.Privileged is not allowed (rule: containers.privileged from ${file}:3)`,
    );
    writeFileSync(file, 'preset: exec\nbody:\n  privileged: yes please\n');
    assert.throws(
      () => parseGatewayArgs(['--config', file], {}),
      /gateway.yaml:3:\d+: body.privileged must be true or false/,
    );
    writeFileSync(file, 'preset: exec\nbody:\n  privilegd: true\n');
    assert.throws(
      () => parseGatewayArgs(['--config', file], {}),
      /unknown key 'privilegd' in body/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
