/**
 * docs/demo.md lists exactly the endpoints the engine's route table implements, the
 * gateway policy of `hijack demo` allows exactly those, and paths outside the table answer
 * 501 with a message naming the demo (never 404).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createEngine } from '../../src/demo/engine/index.js';
import { matchRoute } from '../../src/demo/engine/route-table.js';
import { routes } from '../../src/demo/engine/routes.js';
import { DEMO_USERS, demoPolicy, demoRules, instructions } from '../../src/demo/demo.js';

const doc = readFileSync(new URL('../../docs/demo.md', import.meta.url), 'utf8');

function section(title: string): string {
  const start = doc.indexOf(`## ${title}`);
  assert.ok(start >= 0, `docs/demo.md has a "${title}" section`);
  const end = doc.indexOf('\n## ', start + 3);
  return doc.slice(start, end < 0 ? undefined : end);
}

test('docs/demo.md lists every route of the engine and nothing else', () => {
  const rows = [
    ...section('What the engine implements').matchAll(/^\| `([A-Z]+) (\/\S*)` +\|/gm),
  ].map((m) => `${m[1]} ${m[2]}`);
  const table = routes.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual([...rows].sort(), [...table].sort());
  assert.equal(new Set(rows).size, rows.length, 'no row twice');
});

test("the demo's policy allows exactly the route table", () => {
  const rules = demoRules();
  assert.equal(rules.length, routes.length);
  for (const r of rules) assert.equal(r.effect, 'allow');
  const texts = rules.map((r) => r.text);
  for (const r of routes)
    assert.ok(texts.includes(`${r.method} ${r.path.replace(/\{(\w+)\*\}/g, '{$1}')}`));
});

test("the demo's gateway runs the sandbox preset's body rules and scope owner", () => {
  const p = demoPolicy();
  assert.deepEqual(
    p.rules.map((r) => r.text),
    demoRules().map((r) => r.text),
  );
  assert.equal(p.body?.source, 'preset sandbox');
  assert.equal(p.body?.privileged, false);
  assert.deepEqual(p.body?.bindRoots, []);
  assert.equal(p.scope, 'owner');
});

test('docs/demo.md shows the banner hijack demo prints (both tokens, as alice then as bob)', () => {
  const shown = /It prints [^\n]*\n\n```\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(shown, 'the banner block');
  const dir = '/tmp/hijack-demo-XXXXXX';
  const tokens = /^ {2}alice +(alice-\S+) .*\n {2}bob +(bob-\S+) /m.exec(shown);
  assert.ok(tokens, 'both tokens in the banner');
  const users = DEMO_USERS.map((name, i) => ({
    name,
    token: tokens[i + 1]!,
    dockerConfig: `${dir}/${name}`,
  }));
  const printed = instructions(
    'tcp://127.0.0.1:41235',
    'http://127.0.0.1:40217/',
    `unix://${dir}/gateway.sock`,
    users,
  );
  assert.equal(shown, printed);
});

test('paths named in the 501 section answer 501 naming the demo, never 404', async (t) => {
  const engine = createEngine({ port: 0 });
  const host = await engine.listen();
  t.after(() => engine.close());
  const port = Number(new URL(host.replace('tcp:', 'http:')).port);
  const ask = (method: string, path: string) =>
    new Promise<{ status: number; message: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, message: JSON.parse(body).message }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  const cases: [string, string, RegExp][] = [
    ['POST', '/v1.41/build', /^the demo engine has no \/build endpoint/],
    [
      'POST',
      '/containers/c1/pause',
      /^the demo engine has no POST \/containers\/\{id\}\/pause endpoint/,
    ],
    ['DELETE', '/v1.43/images/x', /^the demo engine has no DELETE \/images\/\{id\} endpoint/],
    ['GET', '/containers/c1/top', /^the demo engine has no GET \/containers\/\{id\}\/top endpoint/],
    ['POST', '/images/create', /^the demo engine has no POST \/images\/create endpoint/],
    ['POST', '/networks/prune', /^the demo engine has no POST \/networks\/prune endpoint/],
    ['POST', '/volumes/create', /^the demo engine has no POST \/volumes\/create endpoint/],
    ['GET', '/swarm', /^the demo engine has no \/swarm endpoint/],
    ['GET', '/system/df', /^the demo engine has no \/system endpoint/],
  ];
  for (const [method, path, re] of cases) {
    assert.equal(matchRoute(routes, method, path.replace(/^\/v[\d.]+/, '')), null, path);
    const r = await ask(method, path);
    assert.equal(r.status, 501, `${method} ${path}`);
    assert.match(r.message, re);
  }
  // And every documented example of the 501 section is such a message.
  for (const m of section('What answers 501')
    .replace(/\s+/g, ' ')
    .matchAll(/`(the demo engine has no [^`]+)`/g)) {
    assert.ok(cases.some(([, , re]) => re.test(m[1]!)) || /\/build/.test(m[1]!), m[1]);
  }
});
