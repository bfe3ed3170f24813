// `hijack policy check` and `hijack gateway --explain` as child processes: the effective
// policy, and dry runs of raw requests decided by the gateway's own admission.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
// A hang guard, not a timing assertion: each run() starts node with tsx (seconds on a busy machine).
const T = { timeout: 120_000 };
let dir: string;
let cli: string;
const children: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hjp-'));
  cli = join(dir, 'cli.mjs');
  writeFileSync(
    cli,
    `import { main } from ${JSON.stringify(join(root, 'src/cli/main.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  writeFileSync(
    join(dir, 'tokens'),
    'ci:ci-secret-0123456789abcdef\ndev:dev-secret-0123456789abcdef\n',
  );
  writeFileSync(
    join(dir, 'gateway.yaml'),
    [
      'preset: sandbox',
      "allow: ['POST /networks/create']",
      'auth:',
      '  tokenFile: tokens',
      'blocks:',
      '  - when: { token: [ci] }',
      "    allow: ['POST /build']",
      '    body:',
      '      bindRoots: [/srv/ci]',
      '      buildNetworkModes: [none]',
      '',
    ].join('\n'),
  );
});
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI; resolves with exit code and output. */
function run(
  args: string[],
  input?: Buffer,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  child.stdin!.end(input);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Writes a raw request file: head lines (CRLF-joined) and a body with its Content-Length. */
function requestFile(name: string, head: string[], body = ''): string {
  const b = Buffer.from(body);
  const lines = body === '' ? head : [...head, `Content-Length: ${b.length}`];
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), b]));
  return path;
}

const json = ['Host: docker', 'Content-Type: application/json'];

test('policy check: prints the policy per identity with the source of every rule', T, async () => {
  const r = await run(['policy', 'check', '--config', join(dir, 'gateway.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Who may connect: bearer token required \(ci, dev\)/);
  assert.match(r.stdout, /allow POST \/containers\/create {3}\(preset sandbox\)/);
  assert.match(r.stdout, /allow POST \/networks\/create {3}\(.*gateway\.yaml:2:\d+\)/);
  assert.match(r.stdout, /Body rules from preset sandbox, bodies read up to 1048576 bytes:/);
  assert.match(r.stdout, /networks\.driver +'' \(default\), bridge/);
  assert.match(r.stdout, /Block 1, for clients matching token ci/);
  assert.match(r.stdout, /allow POST \/build {3}\(.*gateway\.yaml:7:\d+\)/);
  assert.match(
    r.stdout,
    /Body rules from .*gateway\.yaml:8, .*\n(.*\n)*? +containers\.binds, volumes\.bind +\/srv\/ci/,
  );
  assert.match(r.stdout, /ci: everyone's rules \+ block 1; scope owner \(from preset sandbox\)/);
  assert.match(
    r.stdout,
    /dev: everyone's rules; scope owner \(from preset sandbox\), objects labelled hijack\.owner=dev\n/,
  );
  assert.match(
    r.stdout,
    /\n {2}Scope: owner \(from preset sandbox\): a client sees and touches only/,
  );
  assert.match(r.stdout, /Block 1, [^\n]*\n(.*\n)*? {2}Scope: everyone's \(owner\)\n/);
  // `gateway --explain` prints the same and does not listen.
  const g = await run(['gateway', '--config', join(dir, 'gateway.yaml'), '--explain']);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.stdout, r.stdout);
});

test('policy check --request: allowed and refused, with the rule that decided', T, async () => {
  const cfg = ['policy', 'check', '--config', join(dir, 'gateway.yaml')];
  const priv = requestFile(
    'priv.http',
    ['POST /v1.41/containers/create HTTP/1.1', ...json],
    '{"Image":"mini","HostConfig":{"\\u0070rivileged":true}}',
  );
  const r1 = await run([...cfg, '--request', priv, '--identity', 'dev']);
  assert.equal(r1.code, 1, r1.stderr);
  assert.equal(
    r1.stdout,
    'refused: 403 HostConfig.Privileged is not allowed (rule: containers.privileged from preset sandbox)\nidentity: token dev\nscope: owner (from preset sandbox); its objects are labelled hijack.owner=dev\n',
  );
  const ok = requestFile(
    'ok.http',
    ['POST /v1.41/containers/create HTTP/1.1', ...json],
    '{"Image":"mini","HostConfig":{"NetworkMode":"none"}}',
  );
  const r2 = await run([...cfg, '--request', ok, '--identity', 'dev']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(
    r2.stdout,
    /^allowed \(rule: allow POST \/containers\/create from preset sandbox; body rules from preset sandbox passed\)\nidentity: token dev\nscope: owner .*\nownership: the body is forwarded with the label hijack\.owner=dev added to its Labels\n$/,
  );
  // Block 1's body rules for ci: a bind under /srv/ci passes, for dev it does not.
  const bind = requestFile(
    'bind.http',
    ['POST /containers/create HTTP/1.1', ...json],
    '{"Image":"mini","HostConfig":{"Binds":["/srv/ci/w:/w"]}}',
  );
  assert.equal((await run([...cfg, '--request', bind, '--identity', 'ci'])).code, 0);
  const devBind = await run([...cfg, '--request', bind, '--identity', 'dev']);
  assert.equal(devBind.code, 1);
  assert.match(
    devBind.stdout,
    /refused: 403 HostConfig\.Binds\[0\] binds host path "\/srv\/ci\/w".*rule: containers\.binds from preset sandbox/,
  );
  // Routes per identity: build only for ci, and its query under ci's body rules.
  const build = requestFile('build.http', [
    'POST /v1.41/build?networkmode=host&t=x HTTP/1.1',
    'Host: docker',
    'Content-Type: application/x-tar',
    'Content-Length: 0',
  ]);
  const b1 = await run([...cfg, '--request', build, '--identity', 'ci']);
  assert.equal(b1.code, 1);
  assert.match(
    b1.stdout,
    /refused: 403 networkmode "host" is not allowed \(rule: builds\.networkMode from .*gateway\.yaml:8\)/,
  );
  const b2 = await run([...cfg, '--request', build, '--identity', 'dev']);
  assert.match(
    b2.stdout,
    /refused: 403 POST \/build is not allowed by the policy \(no rule allows it; deny by default\)/,
  );
  // Without --identity the request's own Authorization decides; the real token works.
  const withToken = requestFile('tok.http', [
    'GET /v1.41/containers/json HTTP/1.1',
    'Host: docker',
    'Authorization: Bearer ci-secret-0123456789abcdef',
  ]);
  const t1 = await run([...cfg, '--request', withToken]);
  assert.equal(t1.code, 0, t1.stdout);
  assert.match(
    t1.stdout,
    /allowed \(rule: allow GET \/containers\/json from preset sandbox\)\nidentity: token ci/,
  );
  const noToken = requestFile('notok.http', ['GET /containers/json HTTP/1.1', 'Host: docker']);
  const t2 = await run([...cfg, '--request', noToken]);
  assert.equal(t2.code, 1);
  assert.match(t2.stdout, /^refused: 401 a bearer token is required/);
  // Chunked bodies from stdin; a body that does not read as dockerd reads it is a 400.
  const chunk = (c: string) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`;
  const dup = Buffer.from(
    'POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
      chunk('{"HostConfig":{"Binds":[],"bin') +
      chunk('ds":[]}}') +
      '0\r\n\r\n',
  );
  const d1 = await run([...cfg, '--request', '-', '--identity', 'dev'], dup);
  assert.equal(d1.code, 1, d1.stderr);
  assert.match(
    d1.stdout,
    /^refused: 400 the body of POST \/containers\/create is refused: HostConfig\.Binds is given twice/,
  );
});

test('policy check: bad input and usage errors', T, async () => {
  const cfg = ['policy', 'check', '--config', join(dir, 'gateway.yaml')];
  const lf = join(dir, 'lf.http');
  writeFileSync(lf, 'GET /_ping HTTP/1.1\nHost: d\n\n');
  const r1 = await run([...cfg, '--request', lf, '--identity', 'dev']);
  assert.equal(r1.code, 1);
  assert.match(r1.stdout, /refused: 400 the request cannot be parsed .*bare LF line ends/);
  const short = join(dir, 'short.http');
  writeFileSync(
    short,
    'POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 99\r\n\r\n{}',
  );
  const r2 = await run([...cfg, '--request', short, '--identity', 'dev']);
  assert.equal(r2.code, 1);
  assert.match(r2.stdout, /refused: 400 the request cannot be parsed/);
  const r3 = await run([...cfg, '--request', lf, '--identity', 'nobody']);
  assert.equal(r3.code, 2);
  assert.match(
    r3.stderr,
    /--identity 'nobody' is not a token name \(the token files name ci, dev\)/,
  );
  const r4 = await run([...cfg, '--request', join(dir, 'missing.http')]);
  assert.equal(r4.code, 2);
  assert.match(r4.stderr, /--request: cannot read .*missing\.http: ENOENT/);
  const r5 = await run(['policy', 'check', '--preset', 'nope']);
  assert.equal(r5.code, 2);
  assert.match(r5.stderr, /unknown preset 'nope'/);
  const uid = requestFile('uid.http', ['GET /_ping HTTP/1.1', 'Host: d']);
  const r6 = await run([
    'policy',
    'check',
    '--preset',
    'readonly',
    '--allow-uid',
    '1000',
    '--request',
    uid,
    '--identity',
    'uid:0',
  ]);
  assert.equal(r6.code, 1);
  assert.match(r6.stdout, /^refused: 403 /);
  const r7 = await run([
    'policy',
    'check',
    '--preset',
    'readonly',
    '--allow-uid',
    '1000',
    '--request',
    uid,
    '--identity',
    'uid:1000',
  ]);
  assert.equal(r7.code, 0, r7.stdout);
  assert.match(
    r7.stdout,
    /allowed \(rule: allow GET,HEAD \/_ping from preset readonly\)\nidentity: uid 1000/,
  );
});

test(
  'policy check: each identity’s scope and where it comes from; dry runs say what ownership does',
  T,
  async () => {
    const file = join(dir, 'scope.yaml');
    writeFileSync(
      file,
      [
        'preset: readonly',
        'scope: owner',
        'auth:',
        '  tokenFile: tokens',
        'blocks:',
        '  - when: { token: [ci] }',
        '    scope: all',
        '',
      ].join('\n'),
    );
    const check = (...args: string[]) => run(['policy', 'check', '--config', file, ...args]);
    const r = await check();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /\n {2}Scope: owner \(from .*scope\.yaml:2\): a client sees and touches only/,
    );
    assert.match(
      r.stdout,
      /Block 1, [^\n]*\n(.*\n)*? {2}Scope: all \(from .*scope\.yaml:7\): a client sees every object\n/,
    );
    assert.match(
      r.stdout,
      /\n {2}ci: everyone's rules \+ block 1; scope all \(from block 1 \(.*scope\.yaml:7\)\)\n/,
    );
    assert.match(
      r.stdout,
      /\n {2}dev: everyone's rules; scope owner \(from .*scope\.yaml:2\), objects labelled hijack\.owner=dev\n/,
    );
    // A flag wins over the file, and says so; without either, the default.
    const flag = await check('--scope', 'all');
    assert.match(flag.stdout, /\n {2}Scope: all \(from flag --scope\)/);
    const none = await run(['policy', 'check', '--preset', 'readonly']);
    assert.match(none.stdout, /\n {2}Scope: all \(from default\): a client sees every object\n/);
    // Dry runs: dev's inspect of a container depends on the daemon; ci's does not.
    const inspect = requestFile('inspect.http', [
      'GET /v1.41/containers/web/json HTTP/1.1',
      'Host: d',
    ]);
    const dev = await check('--request', inspect, '--identity', 'dev');
    assert.equal(dev.code, 0, dev.stderr);
    assert.equal(
      dev.stdout,
      [
        'allowed (rule: allow GET /containers/{id}/json from preset readonly)',
        'identity: token dev',
        'scope: owner (from ' + file + ':2); its objects are labelled hijack.owner=dev',
        'ownership: allowed if dev owns container "web"; else 404 No such container: web, as dockerd answers for a missing one',
        'ownership: forwarded as /v1.41/containers/<full id of web>/json, pinned to the object whose owner was checked',
        '',
      ].join('\n'),
    );
    const ci = await check('--request', inspect, '--identity', 'ci');
    assert.equal(ci.code, 0, ci.stderr);
    assert.match(ci.stdout, /\nscope: all \(from block 1 \(.*scope\.yaml:7\)\)\n$/);
    const list = requestFile('list.http', ['GET /containers/json HTTP/1.1', 'Host: d']);
    const l = await check('--request', list, '--identity', 'dev');
    assert.match(
      l.stdout,
      /\nownership: forwarded as \/containers\/json\?filters=%7B%22label%22%3A%7B%22hijack\.owner%3Ddev%22%3Atrue%7D%7D: label=hijack\.owner=dev merged into filters/,
    );
  },
);
