/**
 * Keepalive, TCP_USER_TIMEOUT and congestion control on real sockets, read back from the
 * kernel, and their refusals of bad input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { isHijackError } from '../../src/errors.js';
import {
  availableCongestionControls,
  bbrInfo,
  congestionControl,
  keepAlive,
  setCongestionControl,
  setKeepAlive,
  setUserTimeout,
  userTimeout,
} from '../../src/socket/index.js';
import { requirePeer } from '../helpers/peers.js';
import { receive, tcpPair, unixPair } from './helpers.js';

const code = (c: string) => (e: unknown) => isHijackError(e, c as never);

test(
  'setKeepAlive sets idle, interval and count; keepAlive reads the kernel values back',
  { timeout: 10000 },
  async (t) => {
    const p = await tcpPair();
    try {
      assert.equal(keepAlive(p.client).enabled, false);
      setKeepAlive(p.client, { idle: 7000, interval: 3000, count: 4 });
      assert.deepEqual(keepAlive(p.client), {
        enabled: true,
        idle: 7000,
        interval: 3000,
        count: 4,
      });
      // Only what is given changes; times round up to whole seconds.
      setKeepAlive(p.client, { idle: 1500 });
      assert.deepEqual(keepAlive(p.client), {
        enabled: true,
        idle: 2000,
        interval: 3000,
        count: 4,
      });
      // The other end is untouched.
      assert.equal(keepAlive(p.server).enabled, false);
      // An independent reader: ss shows the armed keepalive timer.
      if (requirePeer(t, 'ss', 'iproute2')) {
        const r = spawnSync('ss', ['-tonH', 'src', `127.0.0.1:${p.client.localPort}`], {
          encoding: 'utf8',
        });
        const m = /timer:\(keepalive,([\d.]+)(ms|sec)/.exec(r.stdout);
        assert.ok(m, `ss shows no keepalive timer: ${r.stdout}`);
        const ms = Number(m[1]) * (m[2] === 'sec' ? 1000 : 1);
        assert.ok(ms > 0 && ms <= 7000, `keepalive timer ${ms} ms`);
      }
      setKeepAlive(p.client, false);
      assert.equal(keepAlive(p.client).enabled, false);
    } finally {
      await p.close();
    }
  },
);

test('setKeepAlive refuses values the kernel would not take', { timeout: 10000 }, async () => {
  const p = await tcpPair();
  try {
    for (const bad of [
      { idle: 0 },
      { idle: -1 },
      { idle: 4e7 },
      { interval: NaN },
      { count: 0 },
      { count: 128 },
      { count: 1.5 },
    ]) {
      assert.throws(
        () => setKeepAlive(p.client, bad),
        code('ERR_INVALID_ARGUMENT'),
        JSON.stringify(bad),
      );
    }
    assert.throws(() => setKeepAlive(p.client, null as never), code('ERR_INVALID_ARGUMENT'));
    // Nothing was half-applied.
    assert.equal(keepAlive(p.client).enabled, false);
  } finally {
    await p.close();
  }
});

test(
  'setUserTimeout sets TCP_USER_TIMEOUT; userTimeout reads it back',
  { timeout: 10000 },
  async () => {
    const p = await tcpPair();
    try {
      assert.equal(userTimeout(p.client), 0);
      setUserTimeout(p.client, 4321);
      assert.equal(userTimeout(p.client), 4321);
      setUserTimeout(p.client, 0);
      assert.equal(userTimeout(p.client), 0);
      for (const bad of [-1, 1.5, NaN, 2 ** 31, '10']) {
        assert.throws(() => setUserTimeout(p.client, bad as never), code('ERR_INVALID_ARGUMENT'));
      }
    } finally {
      await p.close();
    }
  },
);

test(
  'congestion control: read, switch between the kernel algorithms, and bbrInfo',
  { timeout: 10000 },
  async (t) => {
    const p = await tcpPair();
    try {
      const available = availableCongestionControls();
      assert.ok(available.length > 0);
      assert.ok(available.includes(congestionControl(p.client)));
      for (const name of ['reno', 'cubic', 'bbr']) {
        if (!available.includes(name)) {
          t.diagnostic(`kernel has no ${name}`);
          continue;
        }
        setCongestionControl(p.client, name);
        assert.equal(congestionControl(p.client), name);
      }
      if (available.includes('cubic')) {
        setCongestionControl(p.client, 'cubic');
        assert.equal(bbrInfo(p.client), null);
      }
      if (available.includes('bbr')) {
        setCongestionControl(p.client, 'bbr');
        const got = receive(p.server, 500_000);
        p.client.write(Buffer.alloc(500_000));
        await got;
        const bbr = bbrInfo(p.client);
        assert.ok(bbr, 'bbrInfo gives BBR facts on a BBR socket');
        assert.ok(bbr.bandwidth > 0, `bandwidth ${bbr.bandwidth}`);
        assert.ok(bbr.minRtt > 0 && bbr.minRtt < 1e6, `minRtt ${bbr.minRtt}`);
        assert.ok(bbr.pacingGain > 0 && bbr.cwndGain > 0);
      } else t.diagnostic('kernel has no bbr: bbrInfo not exercised');
    } finally {
      await p.close();
    }
  },
);

test(
  'congestion control refuses an unknown algorithm and bad input',
  { timeout: 10000 },
  async () => {
    const p = await tcpPair();
    try {
      const before = congestionControl(p.client);
      for (const name of ['no-such-algo', 'x'.repeat(40), 'cu\0bic']) {
        assert.throws(
          () => setCongestionControl(p.client, name),
          (e) => {
            assert.ok(isHijackError(e, 'ERR_UNKNOWN_CONGESTION_CONTROL'));
            assert.match(e.message, /available: /);
            return true;
          },
        );
      }
      assert.throws(
        () => setCongestionControl(p.client, '' as never),
        code('ERR_INVALID_ARGUMENT'),
      );
      assert.throws(() => setCongestionControl(p.client, 5 as never), code('ERR_INVALID_ARGUMENT'));
      assert.equal(congestionControl(p.client), before);
    } finally {
      await p.close();
    }
  },
);

test('tuning calls need an open TCP socket', { timeout: 10000 }, async () => {
  const u = await unixPair();
  try {
    assert.throws(() => setKeepAlive(u.client, { idle: 1000 }), code('ERR_NOT_TCP'));
    assert.throws(() => keepAlive(u.client), code('ERR_NOT_TCP'));
    assert.throws(() => setUserTimeout(u.client, 10), code('ERR_NOT_TCP'));
    assert.throws(() => userTimeout(u.client), code('ERR_NOT_TCP'));
    assert.throws(() => congestionControl(u.client), code('ERR_NOT_TCP'));
    assert.throws(() => setCongestionControl(u.client, 'reno'), code('ERR_NOT_TCP'));
    assert.throws(() => bbrInfo(u.client), code('ERR_NOT_TCP'));
  } finally {
    await u.close();
  }
  const p = await tcpPair();
  p.client.destroy();
  for (const call of [
    () => keepAlive(p.client),
    () => userTimeout(p.client),
    () => congestionControl(p.client),
  ]) {
    assert.throws(call, code('ERR_SOCKET_CLOSED'));
  }
  await p.close();
  assert.throws(() => keepAlive({} as never), code('ERR_NOT_A_SOCKET'));
});
