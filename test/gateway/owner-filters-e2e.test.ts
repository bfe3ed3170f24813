/**
 * Scope owner, end to end against Go: hostile list queries (`filters` spelt in other cases,
 * percent-encoded, repeated, next to `;`, `+` and `#`, legacy and modern forms, duplicate
 * JSON keys, other identities' labels) go through a real gateway to a Go net/http stand-in
 * for dockerd (test/peers/go/docker-filters -serve) that reads `filters` as dockerd's list
 * routes do. Invariant: every list request Go parsed carries the owner's label filter, so
 * dockerd shows only the owner's objects; whatever else the client asked for is ANDed on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { createGateway } from '../../src/gateway/index.js';
import { parseRule } from '../../src/gateway/policy/index.js';
import { hashToken } from '../../src/gateway/identity/tokens.js';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';

const RUNS = Number(process.env.HIJACK_OWNER_QUERY_RUNS) || 1500;
const TOKEN = 'alice-secret-0123456789';

const key = fc.constantFrom(
  'filters',
  'filters',
  'Filters',
  'FILTERS',
  '%66ilters',
  'filter%73',
  'filters%00',
  'filters ',
  'filters[]',
  '+filters',
);
const json = fc.constantFrom(
  '{"label":["hijack.owner=bob"]}',
  '{"label":{"hijack.owner=bob":true}}',
  '{"label":["a=1"],"Label":["hijack.owner=bob"]}',
  '{"label":["a=1"],"label":["hijack.owner=bob"]}',
  '{"name":["web"]}',
  '{"\\u006cabel":["hijack.owner=bob"]}',
  '{"label":"hijack.owner=bob"}',
  '{"label":[]}',
  '{}',
  '',
  'null',
  '[]',
  '{"label":{"hijack.owner=bob":false}}',
  '{"status":{"running":true},"label":["x"]}',
);
const enc = fc.constantFrom<(s: string) => string>(
  (s) => encodeURIComponent(s),
  (s) => s,
  (s) => encodeURIComponent(s).replace(/%20/g, '+'),
  (s) => encodeURIComponent(s).replace(/%3D/g, '='),
);
const param = fc.oneof(
  fc.tuple(key, json, enc).map(([k, j, e]) => `${k}=${e(j)}`),
  fc.constantFrom('all=1', 'limit=3', 'size=true', 'a=b;c=d', 'filters', '=x', '&', 'x=%zz'),
);
const query = fc
  .tuple(fc.array(param, { minLength: 0, maxLength: 4 }), fc.constantFrom('&', '&&', ';'))
  .map(([ps, sep]) => ps.join(sep));
const route = fc.constantFrom(
  '/containers/json',
  '/v1.41/containers/json',
  '/volumes',
  '/networks',
  '/events',
);

test(
  `owner scope against Go: ${RUNS} hostile list queries, each one Go parsed carries the owner's filter`,
  { timeout: 300_000 },
  async (t) => {
    if (requirePeer(t, 'go', 'Go 1.19 net/http and encoding/json') === null) return;
    const seed = Number(process.env.HIJACK_FC_SEED) || Date.now() % 2 ** 31;
    const dir = mkdtempSync(join(tmpdir(), 'gwoq-'));
    const sock = join(dir, 'up.sock');
    const go = spawn(buildGoPeer('docker-filters'), ['-serve', sock], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    const ready = new Promise<void>((r) =>
      createInterface({ input: go.stdout! }).on('line', (l) => {
        if (l === 'READY') r();
        else lines.push(l);
      }),
    );
    await ready;
    const gw = createGateway({
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
      upstream: `unix://${sock}`,
      policy: { rules: [parseRule('GET /**', 'allow', 'test')], blocks: [], scope: 'owner' },
      auth: { tokens: [{ name: 'alice', sha256: hashToken(TOKEN) }] },
    });
    const [a] = await gw.listen();
    const port = Number(new URL(a!.url.replace(/^tcp:/, 'http:')).port);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        // The raw target as written: node:http sends the path bytes unchanged.
        const req = http.get(
          {
            host: '127.0.0.1',
            port,
            path,
            agent,
            headers: { Authorization: `Bearer ${TOKEN}` },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
      });
    const failures: string[] = [];
    let admitted = 0;
    try {
      const samples = fc.sample(fc.tuple(route, query), { numRuns: RUNS, seed });
      for (const [path, q] of samples) {
        const target = q === '' ? path : `${path}?${q}`;
        // Events stream until the client goes: ask for a bounded window.
        const full = path === '/events' ? `${target}${q ? '&' : '?'}until=1` : target;
        const before = lines.length;
        let status: number;
        try {
          status = await get(full);
        } catch {
          continue; // a target node:http itself refuses to send
        }
        if (status === 200) admitted++;
        // What Go parsed for this request (the stand-in answers after printing its line).
        for (const line of lines.slice(before)) {
          const args = line.slice(line.indexOf(' ') + 1);
          if (args === 'ERR') {
            failures.push(`Go could not read the filters the gateway sent: ${full}`);
            continue;
          }
          const labels = (JSON.parse(args) as Record<string, string[]>)['label'] ?? [];
          if (!labels.includes('hijack.owner=alice')) {
            failures.push(`no owner filter reached Go for ${full}: ${args}`);
          }
        }
        if (status === 200 && lines.length === before) {
          failures.push(`admitted, but Go parsed nothing: ${full}`);
        }
        if (failures.length > 5) break;
      }
    } finally {
      agent.destroy();
      await gw.close();
      go.kill();
      rmSync(dir, { recursive: true, force: true });
    }
    t.diagnostic(`seed ${seed}: ${RUNS} queries, ${admitted} admitted and read by Go`);
    assert.deepEqual(failures, [], `seed ${seed} (HIJACK_FC_SEED=${seed} replays it)`);
    assert.ok(admitted > RUNS / 4, `too few admitted to prove anything: ${admitted}`);
  },
);
