/**
 * The gateway in front of a real dockerd (Debian docker.io 20.10): the adversarial corpus
 * under the `readonly`, `exec` and `found` policies must leave the daemon as it was
 * (containers, their state and start times, images, volumes, networks), and dockerode's
 * attach, which sends a JSON body on the hijacked request, must deliver nothing extra to
 * the container's stdin, 50 times out of 50.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { startDockerd, needDockerd, type Dockerd } from '../helpers/dockerd.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { corpus, expand, policyOf, KNOWN } from './corpus/load.js';

const POLICIES = ['readonly', 'exec', 'found'];
const PER_ENTRY_MS = 1500;

let d: Dockerd | null = null;
const gateways = new Map<string, { gw: Gateway; port: number }>();

before(async () => {
  d = await startDockerd();
  if (!d) return;
  for (const name of POLICIES) {
    const { spec, tokens } = policyOf(corpus.policies[name]!);
    const gw = createGateway({
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
      upstream: d.target,
      policy: spec,
      auth: { tokens },
      timeouts: { head: 1000 },
    });
    const [a] = await gw.listen();
    gateways.set(name, { gw, port: a!.port! });
  }
});

after(async () => {
  for (const { gw } of gateways.values()) await gw.close({ timeout: 500, grace: 100 });
  await d?.stop();
});

/** Creates and starts a named container; returns its id. */
async function named(dk: Dockerd, name: string, cmd: string[]): Promise<string> {
  const c = await dk.api('POST', `${dk.apiPrefix}/containers/create?name=${name}`, {
    Image: dk.image,
    Cmd: cmd,
    HostConfig: { NetworkMode: 'none', Init: true },
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const s = await dk.api('POST', `${dk.apiPrefix}/containers/${c.body.Id}/start`);
  assert.equal(s.status, 204, JSON.stringify(s.body));
  return c.body.Id as string;
}

/** What the corpus must not change, read straight from dockerd (not through the gateway). */
async function snapshot(dk: Dockerd): Promise<unknown> {
  const p = dk.apiPrefix;
  const list = (await dk.api('GET', `${p}/containers/json?all=1`)).body as any[];
  const containers = [];
  for (const c of list.sort((a, b) => String(a.Id).localeCompare(String(b.Id)))) {
    const i = (await dk.api('GET', `${p}/containers/${c.Id}/json`)).body;
    containers.push({
      id: c.Id,
      names: c.Names,
      image: c.Image,
      state: i.State.Status,
      startedAt: i.State.StartedAt,
      restarts: i.RestartCount,
      privileged: i.HostConfig.Privileged,
      binds: i.HostConfig.Binds,
      mounts: i.Mounts,
    });
  }
  const images = ((await dk.api('GET', `${p}/images/json?all=1`)).body as any[])
    .map((i) => ({ id: i.Id, tags: i.RepoTags }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const volumes = (((await dk.api('GET', `${p}/volumes`)).body.Volumes ?? []) as any[])
    .map((v) => v.Name)
    .sort();
  const networks = ((await dk.api('GET', `${p}/networks`)).body as any[])
    .map((n) => `${n.Name} ${n.Id}`)
    .sort();
  return { containers, images, volumes, networks };
}

/** Sends raw bytes, keeps what comes back for a bounded time, then closes. */
function sendRaw(port: number, raw: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    const done = () => {
      clearTimeout(bound);
      s.destroy();
      resolve(Buffer.concat(parts).toString('latin1'));
    };
    const bound = setTimeout(done, PER_ENTRY_MS);
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('error', () => {});
    s.on('close', done);
    s.on('connect', () => s.write(raw));
  });
}

test(
  'the smuggling corpus through readonly, exec and found leaves a real dockerd unchanged',
  { timeout: 120_000 },
  async (t) => {
    if (!needDockerd(t, d)) return;
    // The names the corpus aims at: x (most entries; dockerd wants two characters, so
    // `xv` here), victim, web.
    for (const n of ['xv', 'victim', 'web']) await named(d, n, ['sleep', '600']);
    const before = await snapshot(d);
    const entries = corpus.entries.filter((e) => POLICIES.includes(e.policy) && !e.slow);
    assert.ok(entries.length >= 180, `${entries.length} entries`);
    const refusedAnswered: string[] = [];
    // Eight at a time: `wait` and `attach` entries hold their connection until the bound.
    for (let i = 0; i < entries.length; i += 8) {
      await Promise.all(
        entries.slice(i, i + 8).map(async (e) => {
          const out = await sendRaw(
            gateways.get(e.policy)!.port,
            Buffer.from(
              expand(e.raw).replace(/\/containers\/x(?=[/? ])/g, '/containers/xv'),
              'latin1',
            ),
          );
          const want = Array.isArray(e.status) ? e.status : [e.status];
          // An entry the gateway must refuse is refused with that status by the gateway
          // itself, whatever dockerd would have said.
          if (want.every((s) => s >= 400) && !e.second && !KNOWN[e.id]) {
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(out);
            if (!m || !want.includes(Number(m[1])))
              refusedAnswered.push(`${e.id}: ${out.slice(0, 60)}`);
          }
        }),
      );
    }
    assert.deepEqual(refusedAnswered, []);
    assert.deepEqual(await snapshot(d), before);
  },
);

test(
  "dockerode's attach with its JSON body delivers nothing extra to stdin (50 of 50)",
  { timeout: 120_000 },
  async (t) => {
    if (!needDockerd(t, d)) return;
    const { port } = gateways.get('exec')!;
    // Create, start and remove straight on dockerd; attach and wait through the gateway.
    const direct = new Docker({ socketPath: d.socketPath });
    const docker = new Docker({ host: '127.0.0.1', port, protocol: 'http' });
    let clean = 0;
    const seen: string[] = [];
    for (let run = 0; run < 50; run++) {
      // `head -c 6` echoes exactly six stdin bytes and exits: a leftover body byte in
      // stdin would take the place of one of ours.
      const made = await direct.createContainer({
        Image: d.image,
        Cmd: ['head', '-c', '6'],
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        HostConfig: { NetworkMode: 'none' },
      });
      const c = docker.getContainer(made.id);
      try {
        const stream = (await c.attach({
          stream: true,
          stdin: true,
          stdout: true,
          stderr: true,
          hijack: true,
        })) as NodeJS.ReadWriteStream;
        const out = new PassThrough();
        const err = new PassThrough();
        docker.modem.demuxStream(stream, out, err);
        const chunks: Buffer[] = [];
        out.on('data', (b: Buffer) => chunks.push(b));
        await made.start();
        stream.write(`ab${run % 10}cd\n`);
        await c.wait();
        await new Promise((r) => setTimeout(r, 20));
        const got = Buffer.concat(chunks).toString('latin1');
        if (got === `ab${run % 10}cd\n`) clean++;
        else seen.push(JSON.stringify(got));
        (stream as unknown as net.Socket).destroy();
      } finally {
        await made.remove({ force: true }).catch(() => {});
      }
    }
    assert.equal(clean, 50, `unexpected stdin: ${seen.join(', ')}`);
  },
);
