/**
 * What the body rules cost: `hijack gateway` (compiled dist/) in front of a small Node
 * upstream on a unix socket that answers `201 {"Id":…}` to every `POST /containers/create`
 * and `200 []` to `GET /containers/json` (no dockerd: creating containers would measure
 * dockerd), so the ratios measure the gateway's reading and checking of the body.
 *
 * 1. `POST /containers/create` with a body like the Docker CLI's for `docker run`: allowed by
 *    a plain rule (the body streams through unread) vs under the sandbox's body rules (read
 *    whole, decoded as dockerd decodes it, checked, forwarded with a Content-Length).
 * 2. `GET /containers/json`, which carries no body rule: with no body rules configured vs
 *    with the sandbox's body rules configured (its cost must not change).
 *
 * The gateway runs pinned to CPU 0, wrk and the upstream on CPU 1; the two configurations
 * alternate (which goes first alternates too), each in a fresh gateway process, `rounds`
 * rounds, the best round of each counts.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  fmt,
  pin,
  runCommand,
  startProcess,
  stopProcess,
  table,
  type BenchContext,
  type BenchSection,
} from './lib.js';
import type { ChildProcess } from 'node:child_process';

/** A create body shaped like the Docker CLI 28's for `docker run --network none mini:latest sleep 1`. */
const CREATE_BODY = JSON.stringify({
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: true,
  AttachStderr: true,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: ['sleep', '1'],
  Image: 'mini:latest',
  Volumes: {},
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: {},
  HostConfig: {
    Binds: null,
    ContainerIDFile: '',
    LogConfig: { Type: '', Config: {} },
    NetworkMode: 'none',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: '',
    VolumesFrom: null,
    ConsoleSize: [40, 120],
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: '',
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 0,
    Isolation: '',
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: null,
    OomKillDisable: null,
    PidsLimit: null,
    Ulimits: [],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: null,
    ReadonlyPaths: null,
  },
  NetworkingConfig: { EndpointsConfig: {} },
});

/** The fake upstream: 201 to creates, 200 [] to lists, on a unix socket. */
function upstreamScript(path: string): string {
  return `
    import http from 'node:http';
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') {
          res.writeHead(201, { 'Content-Type': 'application/json' });
          res.end('{"Id":"4f1c7a2b9d3e","Warnings":[]}\\n');
        } else {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('[]\\n');
        }
      });
    });
    server.keepAliveTimeout = 60000;
    server.listen(${JSON.stringify(path)}, () => process.stdout.write('listening ${path}\\n'));
    process.on('SIGTERM', () => process.exit(0));
  `;
}

/** The gateway: plain allow rules, and with `body` the sandbox's body rules on top. */
function gatewayScript(dist: string, upstream: string, body: boolean): string {
  return `
    import { createGateway, parseRule } from ${JSON.stringify(join(dist, 'gateway', 'index.js'))};
    import { sandboxBodyRules } from ${JSON.stringify(join(dist, 'gateway', 'policy', 'body-rules.js'))};
    const rules = ['POST /containers/create', 'GET /containers/json'].map((r) => parseRule(r, 'allow', 'bench'));
    const gw = createGateway({
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
      upstream: ${JSON.stringify('unix://' + upstream)},
      policy: { rules, blocks: [], ${body ? 'body: sandboxBodyRules(),' : ''} },
    });
    const [addr] = await gw.listen();
    process.stdout.write('listening 127.0.0.1:' + addr.port + '\\n');
    process.on('SIGTERM', () => process.exit(0));
  `;
}

/** wrk keep-alive requests: requests/s and p99 (ms); every answer must be 2xx. */
async function wrk(
  url: string,
  seconds: number,
  script?: string,
): Promise<{ rps: number; p99: number }> {
  const out = await runCommand(
    pin(1, [
      'wrk',
      '-t1',
      '-c32',
      `-d${seconds}s`,
      '--latency',
      ...(script ? ['-s', script] : []),
      url,
    ]),
  );
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`wrk got ${non2xx[1]} non-2xx answers from ${url}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : NaN;
  return { rps, p99 };
}

/**
 * Microseconds per `admit()` call for `GET /v1.41/containers/json`, in this process (the
 * compiled module), with and without body rules configured: admission alone, without the
 * network and the scheduler's noise. Alternating, best of `rounds`.
 */
async function admitMicros(dist: string, rounds: number, n: number): Promise<[number, number]> {
  type Mod = Record<string, (...a: unknown[]) => unknown>;
  const load = async (p: string) => (await import(join(dist, 'gateway', p))) as Mod;
  const { admit } = await load('admit.js');
  const { createAdmitContext } = await load('server.js');
  const { parseRule } = await load('policy/index.js');
  const { sandboxBodyRules } = await load('policy/body-rules.js');
  const { openAuth } = await load('defaults.js');
  const rules = ['POST /containers/create', 'GET /containers/json'].map((r) =>
    parseRule!(r, 'allow', 'bench'),
  );
  const context = (body: boolean) =>
    createAdmitContext!({
      policy: { rules, blocks: [], ...(body ? { body: sandboxBodyRules!() } : {}) },
      auth: openAuth!(),
      forwardProxy: { enabled: false, connectAllow: [] },
    });
  const req = {
    method: 'GET',
    url: '/v1.41/containers/json',
    httpVersion: '1.1',
    httpVersionMajor: 1,
    rawHeaders: ['Host', 'docker', 'User-Agent', 'Docker-Client/28.2.2 (linux)'],
    headers: { host: 'docker', 'user-agent': 'Docker-Client/28.2.2 (linux)' },
  };
  const facts = { transport: 'tcp', address: '127.0.0.1', port: 40000 };
  const best = [Infinity, Infinity];
  for (let r = 0; r < rounds; r++) {
    for (const body of r % 2 === 0 ? [false, true] : [true, false]) {
      const c = context(body);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) admit!(req, facts, c);
      const us = ((performance.now() - t0) * 1000) / n;
      const k = body ? 1 : 0;
      best[k] = Math.min(best[k]!, us);
    }
  }
  return [best[0]!, best[1]!];
}

export default async function gatewayBodyBench(ctx: BenchContext): Promise<BenchSection> {
  const dir = mkdtempSync('/tmp/gwbody.');
  const upSock = join(dir, 'up.sock');
  const post = join(dir, 'create.lua');
  writeFileSync(
    post,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(CREATE_BODY)}\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const dist = join(ctx.root, 'dist');
  const procs: ChildProcess[] = [];
  const rounds = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 2 : 5;
  try {
    const up = await startProcess(
      pin(1, [process.execPath, '--input-type=module', '-e', upstreamScript(upSock)]),
    );
    procs.push(up.proc);
    const configs = [
      { name: 'plain allow rule (no body rules)', body: false },
      { name: 'sandbox body rules', body: true },
    ];
    type Best = { rps: number; p99: number };
    const best = new Map<string, Best>();
    const keep = (k: string, r: Best) => {
      const b = best.get(k);
      if (!b || r.rps > b.rps) best.set(k, r);
    };
    for (let r = 0; r < rounds; r++) {
      // Alternate which configuration goes first, so that neither always runs second.
      for (const c of r % 2 === 0 ? configs : [...configs].reverse()) {
        const gw = await startProcess(
          pin(0, [
            process.execPath,
            '--input-type=module',
            '-e',
            gatewayScript(dist, upSock, c.body),
          ]),
        );
        procs.push(gw.proc);
        const base = `http://${gw.addr}`;
        // The list first, in a fresh process: nothing left over from reading bodies.
        await wrk(`${base}/v1.41/containers/json`, 1); // warm-up
        keep(`list ${c.name}`, await wrk(`${base}/v1.41/containers/json`, seconds));
        await wrk(`${base}/v1.41/containers/create`, 1, post);
        keep(`create ${c.name}`, await wrk(`${base}/v1.41/containers/create`, seconds, post));
        await stopProcess(gw.proc);
      }
    }
    const get = (k: string) => best.get(k)!;
    const [plain, sandbox] = configs.map((c) => c.name) as [string, string];
    const ratio = (a: Best, b: Best) => `${fmt(a.rps / b.rps, 2)}×`;
    const rows = [
      [
        'POST /containers/create',
        plain,
        fmt(get(`create ${plain}`).rps),
        fmt(get(`create ${plain}`).p99, 2),
        '1.00×',
      ],
      [
        'POST /containers/create',
        sandbox,
        fmt(get(`create ${sandbox}`).rps),
        fmt(get(`create ${sandbox}`).p99, 2),
        ratio(get(`create ${sandbox}`), get(`create ${plain}`)),
      ],
      [
        'GET /containers/json',
        plain,
        fmt(get(`list ${plain}`).rps),
        fmt(get(`list ${plain}`).p99, 2),
        '1.00×',
      ],
      [
        'GET /containers/json',
        sandbox,
        fmt(get(`list ${sandbox}`).rps),
        fmt(get(`list ${sandbox}`).p99, 2),
        ratio(get(`list ${sandbox}`), get(`list ${plain}`)),
      ],
    ];
    const [admitPlain, admitBody] = await admitMicros(
      dist,
      ctx.quick ? 2 : 6,
      ctx.quick ? 50_000 : 200_000,
    );
    rows.push(
      ['`admit()` of GET /containers/json, µs per call', plain, fmt(admitPlain, 2), '', '1.00×'],
      [
        '`admit()` of GET /containers/json, µs per call',
        sandbox,
        fmt(admitBody, 2),
        '',
        `${fmt(admitPlain / admitBody, 2)}×`,
      ],
    );
    const markdown = [
      '## Gateway: what the body rules cost',
      '',
      `\`hijack gateway\` pinned to CPU 0 in front of a Node upstream on a unix socket (CPU 1) that answers 201 to every create and \`[]\` to every list: no dockerd, so the ratios are the gateway's own work. \`wrk -t1 -c32 -d${seconds}s --latency\` (CPU 1), keep-alive; \`POST /v1.41/containers/create\` with a ${fmt(Buffer.byteLength(CREATE_BODY))}-byte body shaped like the Docker CLI's for \`docker run\`; best of ${rounds} rounds, the configurations in alternating order, each in a fresh gateway process (the list measured first). Under the sandbox's body rules a create's body is read whole, decoded as dockerd decodes it, checked and forwarded with a Content-Length; under a plain rule it streams through unread. \`GET /containers/json\` carries no body rule: its ratio says whether configuring body rules costs requests they do not apply to; the last two rows time admission alone for that request in the bench process (the compiled \`admit()\`, best of alternating rounds), without the network's and the scheduler's noise.`,
      '',
      table(
        [
          'request',
          'policy',
          'requests/s (admit: µs per call)',
          'p99 ms',
          'ratio to the plain rule',
        ],
        rows,
      ),
    ].join('\n');
    return { markdown };
  } finally {
    for (const p of procs) await stopProcess(p).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
