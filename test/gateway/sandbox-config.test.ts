import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';
import { compilePolicy } from '../../src/gateway/policy/index.js';
import { isHijackError } from '../../src/errors.js';

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
