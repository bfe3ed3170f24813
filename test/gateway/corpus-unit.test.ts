// Runs the pure part of the adversarial corpus (layers policy, framing, identity) against
// checkFraming, the authenticator and the policy. corpus-e2e.test.ts sends every entry over
// real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, checkFraming } from '../../src/gateway/policy/index.js';
import { createAuthenticator, isDenied } from '../../src/gateway/identity/index.js';
import { corpus, expand, policyOf, type CorpusPolicy } from './corpus/load.js';
import { openAuth } from '../../src/gateway/defaults.js';

function parseHead(raw: string) {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [line, ...lines] = head.split('\r\n');
  const parts = line!.split(' ');
  assert.equal(parts.length, 3, `request line of ${JSON.stringify(line)}`);
  const rawHeaders: string[] = [];
  for (const l of lines) {
    const c = l.indexOf(':');
    rawHeaders.push(l.slice(0, c), l.slice(c + 1).trim());
  }
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2)
    headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
  return {
    method: parts[0]!,
    url: parts[1]!,
    httpVersion: parts[2]!.replace('HTTP/', ''),
    rawHeaders,
    headers,
  };
}

function build(p: CorpusPolicy) {
  const { spec, tokens } = policyOf(p);
  const auth = createAuthenticator({ ...openAuth(), tokens });
  return { policy: compilePolicy(spec), auth };
}

const built = Object.fromEntries(Object.entries(corpus.policies).map(([k, v]) => [k, build(v)]));

test('corpus: at least 150 entries, ids unique, every policy defined', { timeout: 5000 }, () => {
  assert.ok(corpus.entries.length >= 150, `${corpus.entries.length} entries`);
  assert.equal(new Set(corpus.entries.map((e) => e.id)).size, corpus.entries.length);
  for (const e of corpus.entries) assert.ok(built[e.policy], `${e.id}: policy ${e.policy}`);
});

test(
  'corpus: pure layers (policy, framing, identity) give the expected status',
  { timeout: 20000 },
  () => {
    let checked = 0;
    const failures: string[] = [];
    for (const e of corpus.entries) {
      if (!['policy', 'framing', 'identity'].includes(e.layer ?? '')) continue;
      const { policy, auth } = built[e.policy]!;
      const req = parseHead(expand(e.raw));
      const facts = { transport: 'tcp' as const, address: '127.0.0.1', port: 40000 };
      let status: number;
      let allowHeader: string | undefined;
      const framing = checkFraming(req);
      if (framing) status = framing.status;
      else {
        const id = auth.identify(facts, req.headers);
        if (isDenied(id)) status = id.status;
        else {
          const d = policy.decide(req, id);
          status = d.status;
          if (d.action === 'deny') {
            allowHeader = d.headers.allow;
            assert.ok(d.message.startsWith('hijack gateway: '), e.id);
            assert.ok(!/token-0123/.test(d.message), `${e.id}: message must not hold a token`);
          }
        }
      }
      const expected = Array.isArray(e.status) ? e.status : [e.status];
      assert.ok(
        expected.includes(status),
        `${e.id} (${e.note}): got ${status}, want ${expected.join('|')}`,
      );
      if (e.allow) assert.equal(allowHeader, e.allow, `${e.id}: Allow header`);
      checked++;
    }
    assert.deepEqual(failures, []);
    assert.ok(checked >= 150, `${checked} entries checked`);
  },
);
