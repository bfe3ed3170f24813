/**
 * The per-identity metric: `hijack_gateway_identity_requests_total{identity,decision}`,
 * whose `identity` values are bounded by the configuration (token names, allowed subjects,
 * uids, gids; `other` for the rest), from real requests through a gateway with two tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokens } from '../../src/gateway/identity/tokens.js';
import { identityMetricLabel } from '../../src/gateway/observe/index.js';
import type { AuthOptions } from '../../src/gateway/types.js';
import { request, rig } from './observe-helpers.js';

test(
  'metrics: requests by configured identity; anything else is other',
  { timeout: 20_000 },
  async () => {
    const r = await rig(
      () => ({ log: false, metrics: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } } }),
      { auth: { tokens: loadTokens('ci:aaaaaaaaaaaaaaaaaaaa\nops:bbbbbbbbbbbbbbbbbbbb', 'test') } },
    );
    try {
      const as = (secret: string) => ({ authorization: `Bearer ${secret}` });
      assert.equal(
        (await request({ port: r.port }, 'GET', '/_ping', undefined, as('aaaaaaaaaaaaaaaaaaaa')))
          .status,
        200,
      );
      assert.equal(
        (await request({ port: r.port }, 'GET', '/_ping', undefined, as('aaaaaaaaaaaaaaaaaaaa')))
          .status,
        200,
      );
      assert.equal(
        (
          await request(
            { port: r.port },
            'GET',
            '/images/json',
            undefined,
            as('bbbbbbbbbbbbbbbbbbbb'),
          )
        ).status,
        403,
      );
      assert.equal((await request({ port: r.port }, 'GET', '/_ping')).status, 401);
      const text = await (
        await fetch(r.urls.metrics!, { headers: as('bbbbbbbbbbbbbbbbbbbb') })
      ).text();
      const lines = text
        .split('\n')
        .filter((l) => l.startsWith('hijack_gateway_identity_requests_total{'));
      assert.deepEqual(lines.sort(), [
        'hijack_gateway_identity_requests_total{identity="other",decision="deny"} 1',
        'hijack_gateway_identity_requests_total{identity="token:ci",decision="allow"} 2',
        'hijack_gateway_identity_requests_total{identity="token:ops",decision="deny"} 1',
      ]);
    } finally {
      await r.close();
    }
  },
);

test('identityMetricLabel: only identities the configuration names', () => {
  const auth: AuthOptions = {
    tokens: [],
    allowCidr: ['10.0.0.0/8'],
    allowUid: [1000],
    allowGid: [998],
    allowSubject: ['runner'],
    allowFingerprint: [],
  };
  const peer = (uid: number, gid: number) => ({
    transport: 'unix' as const,
    peer: { pid: 1, uid, gid },
  });
  assert.equal(identityMetricLabel(undefined, auth), 'other');
  assert.equal(
    identityMetricLabel({ transport: 'tcp', address: '10.1.2.3', token: 'ci' }, auth),
    'token:ci',
  );
  assert.equal(identityMetricLabel({ transport: 'tcp', address: '10.1.2.3' }, auth), 'other');
  assert.equal(identityMetricLabel(peer(1000, 5), auth), 'uid:1000');
  assert.equal(identityMetricLabel(peer(1001, 998), auth), 'gid:998');
  assert.equal(identityMetricLabel(peer(1001, 5), auth), 'other');
  const cert = (subject: string) => ({
    transport: 'tls' as const,
    cert: { subject, fingerprint256: 'AA', authorized: true },
  });
  assert.equal(identityMetricLabel(cert('runner') as never, auth), 'cn:runner');
  assert.equal(identityMetricLabel(cert('stranger') as never, auth), 'other');
});
