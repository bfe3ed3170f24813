import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseCidr,
  cidrContains,
  createAuthenticator,
  connectionFacts,
  loadTokens,
  hashToken,
  verifyToken,
  bearerToken,
  isDenied,
} from '../../src/gateway/identity/index.js';
import { isHijackError } from '../../src/errors.js';
import type { AuthOptions } from '../../src/gateway/types.js';
import { openAuth } from '../../src/gateway/defaults.js';

const none: AuthOptions = openAuth();

test('cidr: IPv4, IPv6, IPv4-mapped IPv6 on either side', { timeout: 5000 }, () => {
  const v4 = parseCidr('10.0.0.0/8');
  assert.ok(cidrContains(v4, '10.255.1.2'));
  assert.ok(cidrContains(v4, '::ffff:10.1.2.3'));
  assert.ok(cidrContains(v4, '::FFFF:10.1.2.3'));
  assert.ok(!cidrContains(v4, '11.0.0.1'));
  assert.ok(!cidrContains(v4, '::1'));
  const v6 = parseCidr('fd00::/8');
  assert.ok(cidrContains(v6, 'fd12:3456::1'));
  assert.ok(!cidrContains(v6, 'fe80::1'));
  assert.ok(!cidrContains(v6, '10.0.0.1'));
  const mapped = parseCidr('::ffff:192.168.0.0/112');
  assert.ok(cidrContains(mapped, '192.168.3.4'));
  assert.ok(!cidrContains(mapped, '192.169.0.1'));
  assert.ok(cidrContains(parseCidr('127.0.0.1'), '127.0.0.1'));
  assert.ok(!cidrContains(parseCidr('127.0.0.1'), '127.0.0.2'));
  assert.ok(cidrContains(parseCidr('::1/128'), '::1'));
  assert.ok(cidrContains(parseCidr('0.0.0.0/0'), '8.8.8.8'));
  assert.ok(cidrContains(parseCidr('10.1.2.3/31'), '10.1.2.2'));
  assert.ok(!cidrContains(parseCidr('10.1.2.3/31'), '10.1.2.4'));
  for (const bad of ['10.0.0.0/33', '::/129', 'host/8', '10.0.0/8', '10.0.0.0/x', '']) {
    assert.throws(
      () => parseCidr(bad),
      (e: unknown) => isHijackError(e, 'ERR_CONFIG'),
      bad,
    );
  }
});

test(
  'tokens: file format, hashes only, constant-time verify, bearer parsing',
  { timeout: 5000 },
  () => {
    const tokens = loadTokens(
      '# comment\n\nci: ci-token-0123456789abcdef\nbare-token-0123456789\n',
      'tokens.txt',
    );
    assert.deepEqual(
      tokens.map((t) => t.name),
      ['ci', 'tokens.txt#4'],
    );
    assert.ok(!JSON.stringify(tokens).includes('ci-token'), 'only digests are kept');
    assert.equal(verifyToken('ci-token-0123456789abcdef', tokens), 'ci');
    assert.equal(verifyToken('bare-token-0123456789', tokens), 'tokens.txt#4');
    assert.equal(verifyToken('ci-token-0123456789abcdeF', tokens), undefined);
    assert.equal(verifyToken('', tokens), undefined);
    assert.deepEqual(hashToken('x'), hashToken('x'));
    assert.throws(() => loadTokens('ci: short', 'f'), /f:1: the token is shorter than 16/);
    assert.throws(
      () => loadTokens('a: 0123456789abcdefgh\na: 0123456789abcdefgx', 'f'),
      /f:2: the token name 'a' is used twice/,
    );
    try {
      loadTokens('ci: short-secret', 'f');
    } catch (e) {
      assert.ok(!(e as Error).message.includes('short-secret'), 'the secret is never in a message');
    }
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer   abc '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(['Bearer a', 'Bearer b']), undefined);
    assert.equal(bearerToken(undefined), undefined);
  },
);

test(
  'authenticator: CIDR, tokens (401 + WWW-Authenticate), uid/gid, certificates',
  { timeout: 5000 },
  () => {
    const tokens = loadTokens('ci: ci-token-0123456789abcdef', 't');
    const a = createAuthenticator({ ...none, tokens, allowCidr: ['127.0.0.0/8', '::1'] });
    const local = { transport: 'tcp' as const, address: '127.0.0.1' };
    assert.ok(a.requiresToken);
    const ok = a.identify(local, { authorization: 'Bearer ci-token-0123456789abcdef' });
    assert.ok(!isDenied(ok) && ok.token === 'ci');
    const missing = a.identify(local, {});
    assert.ok(
      isDenied(missing) &&
        missing.status === 401 &&
        /^Bearer/.test(missing.headers['www-authenticate']!),
    );
    const wrong = a.identify(local, { authorization: 'Bearer nope-nope-nope-nope' });
    assert.ok(isDenied(wrong) && wrong.status === 401 && !wrong.message.includes('nope'));
    const far = a.identify(
      { transport: 'tcp', address: '192.0.2.1' },
      { authorization: 'Bearer ci-token-0123456789abcdef' },
    );
    assert.ok(isDenied(far) && far.status === 403 && far.reason === 'forbidden-client');
    assert.equal(a.checkConnection({ transport: 'tcp', address: '::1' }), undefined);

    const u = createAuthenticator({ ...none, allowUid: [1000], allowGid: [998] });
    assert.equal(
      u.checkConnection({ transport: 'unix', peer: { pid: 1, uid: 1000, gid: 1 } }),
      undefined,
    );
    assert.equal(
      u.checkConnection({ transport: 'unix', peer: { pid: 1, uid: 5, gid: 998 } }),
      undefined,
    );
    assert.equal(
      u.checkConnection({ transport: 'unix', peer: { pid: 1, uid: 0, gid: 0 } })?.status,
      403,
    );
    assert.equal(
      u.checkConnection({ transport: 'unix' })?.status,
      403,
      'no peer credentials: refused',
    );
    assert.equal(createAuthenticator(none).checkConnection({ transport: 'unix' }), undefined);

    const fp = 'AA:'.repeat(31) + 'AA';
    const m = createAuthenticator({
      ...none,
      allowSubject: ['ci'],
      allowFingerprint: [fp.replace(/:/g, '').toLowerCase()],
    });
    assert.equal(
      m.checkConnection({
        transport: 'tls',
        address: '127.0.0.1',
        cert: { subject: 'ci', fingerprint256: 'BB', authorized: true },
      }),
      undefined,
    );
    assert.equal(
      m.checkConnection({
        transport: 'tls',
        address: '127.0.0.1',
        cert: { subject: 'ci', fingerprint256: 'BB', authorized: false },
      })?.status,
      403,
      'subject only counts for a verified chain',
    );
    assert.equal(
      m.checkConnection({
        transport: 'tls',
        address: '127.0.0.1',
        cert: { subject: 'x', fingerprint256: fp, authorized: false },
      }),
      undefined,
    );
    assert.equal(
      m.checkConnection({ transport: 'tls', address: '127.0.0.1' })?.status,
      403,
      'no certificate',
    );
  },
);

test(
  'connectionFacts: unix peer uid/gid via peerCred, tcp address folded',
  { timeout: 10000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hijack-id-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 's.sock');
    const got = new Promise<Socket>((resolve) => {
      const srv = createServer((s) => resolve(s));
      srv.listen(path);
      t.after(() => srv.close());
    });
    await new Promise((r) => setTimeout(r, 50));
    const client = connect(path);
    t.after(() => client.destroy());
    const s = await got;
    t.after(() => s.destroy());
    const facts = connectionFacts(s, 'unix');
    assert.equal(facts.transport, 'unix');
    if (facts.peer) {
      assert.equal(facts.peer.uid, process.getuid!());
      assert.equal(facts.peer.gid, process.getgid!());
      assert.equal(facts.peer.pid, process.pid);
    } else t.diagnostic('native part unavailable: peer absent (uid/gid allowlists refuse)');

    const tcp = await new Promise<Socket>((resolve, reject) => {
      const srv = createServer((sock) => resolve(sock));
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address() as { port: number };
        const c = connect(addr.port, '127.0.0.1');
        t.after(() => c.destroy());
      });
      t.after(() => srv.close());
    });
    t.after(() => tcp.destroy());
    const f2 = connectionFacts(tcp, 'tcp');
    assert.equal(f2.address, '127.0.0.1');
    assert.equal(typeof f2.port, 'number');
  },
);
