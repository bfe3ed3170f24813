/**
 * Fake containers for the demo engine: records with Docker's ids, names and states whose
 * main process is a built-in command, plus the JSON shapes of `docker ps` and
 * `docker inspect`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Command } from './commands.js';
import { LogBook } from './logbook.js';
import { readsTerminal } from './shell.js';
import { LineDiscipline } from './tty.js';
import type { TtySize } from './tty-size.js';
import { Broadcast, endedInput, runCommand } from './process.js';

/** How a demo container is declared. */
export interface ContainerSpec {
  /** Name without the leading slash, e.g. `c1`. */
  name: string;
  /** Main command and arguments; default `["sleep", "infinity"]`. */
  cmd?: string[];
  /** Image name shown by `docker ps`; default `hijack/demo:latest`. */
  image?: string;
  /** Allocate a TTY (raw, unframed streams); default false. */
  tty?: boolean;
  /** Keep stdin open for attach (`docker run -i`); default true. */
  openStdin?: boolean;
  /** Close the main process's stdin when the first attached client's stdin ends; default true. */
  stdinOnce?: boolean;
  /**
   * Keep running (default true); false makes an exited container: its command runs once
   * with stdin closed before the engine listens (killed after 1 s), so its logs and exit
   * status are the command's.
   */
  running?: boolean;
  /** Environment `KEY=value` pairs. */
  env?: string[];
  /** Labels shown by `docker ps` / `docker inspect`. */
  labels?: Record<string, string>;
  /** The id; default sha256 of the name (stable). */
  id?: string;
  /** Remove the container when its main process exits (`docker run --rm`). */
  autoRemove?: boolean;
  /** The network mode shown by inspect; default `none`. */
  networkMode?: string;
}

/** The default containers: c1 sleeps, c2 is `cat` with stdin (for attach), c3 has exited. */
export const defaultContainers: ContainerSpec[] = [
  { name: 'c1', cmd: ['sleep', 'infinity'] },
  { name: 'c2', cmd: ['cat'], openStdin: true, stdinOnce: true },
  { name: 'c3', cmd: ['echo', 'done'], running: false },
];

/**
 * `HostConfig` of `docker inspect` as dockerd 20.10 fills it for `docker run` without
 * options (nothing of it is enforced: the demo has no kernel objects).
 */
const HOST_CONFIG_DEFAULTS = {
  Binds: null,
  ContainerIDFile: '',
  LogConfig: { Type: 'json-file', Config: {} },
  NetworkMode: 'none',
  PortBindings: {},
  RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  AutoRemove: false,
  VolumeDriver: '',
  VolumesFrom: null,
  CapAdd: null,
  CapDrop: null,
  CgroupnsMode: 'host',
  Dns: [],
  DnsOptions: [],
  DnsSearch: [],
  ExtraHosts: null,
  GroupAdd: null,
  IpcMode: 'private',
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
  ShmSize: 67108864,
  Runtime: 'runc',
  ConsoleSize: [0, 0],
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
  KernelMemory: 0,
  KernelMemoryTCP: 0,
  MemoryReservation: 0,
  MemorySwap: 0,
  MemorySwappiness: null,
  OomKillDisable: false,
  PidsLimit: null,
  Ulimits: [],
  CpuCount: 0,
  CpuPercent: 0,
  IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
  Init: false,
  MaskedPaths: [],
  ReadonlyPaths: [],
};

/** `NetworkSettings` of `docker inspect` for a container without an address (dockerd 20.10). */
const NETWORK_SETTINGS_DEFAULTS = {
  Bridge: '',
  HairpinMode: false,
  LinkLocalIPv6Address: '',
  LinkLocalIPv6PrefixLen: 0,
  Ports: {},
  SecondaryIPAddresses: null,
  SecondaryIPv6Addresses: null,
  EndpointID: '',
  Gateway: '',
  GlobalIPv6Address: '',
  GlobalIPv6PrefixLen: 0,
  IPAddress: '',
  IPPrefixLen: 0,
  IPv6Gateway: '',
  MacAddress: '',
};

const iso = (t: number) => new Date(t).toISOString();
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Full 64-hex id for a name: stable, so documentation and tests can name it. */
export function containerIdFor(name: string): string {
  return createHash('sha256').update(`hijack-demo-container:${name}`).digest('hex');
}

/** The id of the demo's image named `name` (`sha256:` + 64 hex, stable). */
export function imageIdFor(name: string): string {
  return `sha256:${containerIdFor('image:' + name)}`;
}

/** go-units' HumanDuration, which dockerd's `ps` status uses (`Up 5 seconds`). */
export function humanDuration(ms: number): string {
  const s = Math.trunc(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.trunc(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.trunc(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.trunc(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.trunc(h / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/**
 * One fake container. Its main process runs `cmd` from the engine's commands; its output
 * goes to whoever is attached and to its {@link LogBook}. Emits 'exit' (status) when the
 * main process ends, and 'lifecycle' (action, attributes) for Docker's events: `start`,
 * `kill` (signal), `die` (exitCode).
 */
export class Container extends EventEmitter {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly cmd: string[];
  readonly tty: boolean;
  readonly openStdin: boolean;
  readonly stdinOnce: boolean;
  readonly env: string[];
  readonly labels: Record<string, string>;
  readonly autoRemove: boolean;
  readonly networkMode: string;
  readonly created = Date.now();
  running = false;
  exitCode = 0;
  pid = 0;
  startedAt = 0;
  finishedAt = 0;
  /** The main process's stdin while it runs. */
  stdin: PassThrough | null = null;
  /** The main process's stdout and stderr, fanned out to attached clients. */
  readonly stdout: Broadcast = new Broadcast(undefined, (c) => this.logs.write('stdout', c));
  readonly stderr: Broadcast = new Broadcast(undefined, (c) => this.logs.write('stderr', c));
  /** The TTY size from the last resize (0 × 0 until one). */
  size: TtySize = { rows: 0, cols: 0 };
  /** Everything the main process printed, by line (`docker logs`). */
  readonly logs = new LogBook();
  private abort: AbortController | null = null;
  private killedBy = 0;
  private exited: Promise<number> = Promise.resolve(0);

  constructor(
    spec: ContainerSpec,
    private readonly commands: ReadonlyMap<string, Command>,
  ) {
    super();
    this.id = spec.id ?? containerIdFor(spec.name);
    this.autoRemove = spec.autoRemove ?? false;
    this.networkMode = spec.networkMode ?? 'none';
    this.name = spec.name;
    this.image = spec.image ?? 'hijack/demo:latest';
    this.cmd = spec.cmd?.length ? [...spec.cmd] : ['sleep', 'infinity'];
    this.tty = spec.tty ?? false;
    this.openStdin = spec.openStdin ?? true;
    this.stdinOnce = spec.stdinOnce ?? true;
    this.env = spec.env ?? [];
    this.labels = spec.labels ?? {};
  }

  /** Starts the main process; a no-op when it already runs. */
  start(pid: number): void {
    if (this.running) return;
    this.running = true;
    this.pid = pid;
    this.startedAt = Date.now();
    this.abort = new AbortController();
    this.stdin = new PassThrough();
    this.stdin.on('error', () => {});
    if (!this.openStdin) this.stdin.end();
    this.stdout.reset();
    this.stderr.reset();
    this.emit('lifecycle', 'start', {});
    const signal = this.abort.signal;
    let interrupted = false;
    this.exited = runCommand(this.commands, this.cmd, {
      ...(this.tty
        ? this.terminalIO(signal, () => (interrupted = true))
        : {
            stdin: this.stdin,
            stdout: this.stdout,
            stderr: this.stderr,
            signal,
          }),
      env: this.env,
    }).then((status) => {
      this.running = false;
      this.exitCode = this.killedBy ? 128 + this.killedBy : interrupted ? 130 : status;
      this.killedBy = 0;
      this.finishedAt = Date.now();
      this.pid = 0;
      this.stdin?.destroy();
      this.stdin = null;
      this.abort = null;
      this.logs.flush();
      this.emit('lifecycle', 'die', { exitCode: String(this.exitCode) });
      this.emit('exit', this.exitCode);
      return this.exitCode;
    });
  }

  /**
   * The main process's streams on a TTY (`docker run -it`): the attached clients' keys go
   * through a line discipline (echo, erase, ^C, ^D), output gets CR NL, as for a TTY exec.
   */
  private terminalIO(signal: AbortSignal, onInterrupt: () => void) {
    const ld = new LineDiscipline(this.stdout, () => this.size);
    const input = this.stdin!;
    input.on('data', (c: Buffer) => ld.feed(c));
    input.once('end', () => ld.hangup());
    const job = new AbortController();
    signal.addEventListener('abort', () => job.abort(), { once: true });
    ld.onInterrupt(() => {
      onInterrupt();
      job.abort();
    });
    const main = this.commands.get(this.cmd[0] ?? '');
    const stdin = main && readsTerminal.has(main) ? endedInput() : ld.openJob();
    return { stdin, stdout: ld.output, stderr: ld.output, signal: job.signal, tty: ld };
  }

  /**
   * Kills the main process with signal number `signal` (exit status 128 + signal, as a
   * process without handlers); resolves once it exited.
   */
  async kill(signal = 9): Promise<void> {
    if (this.abort && !this.abort.signal.aborted) {
      this.emit('lifecycle', 'kill', { signal: String(signal) });
      this.killedBy = signal;
    }
    this.abort?.abort();
    await this.exited;
  }

  /** Resolves with the exit status once the main process ended (at once if it is not running). */
  wait(): Promise<number> {
    return this.running ? this.exited : Promise.resolve(this.exitCode);
  }

  /** The image's id (`sha256:…`, stable for the name). */
  get imageId(): string {
    return imageIdFor(this.image);
  }

  /** Docker's `State.Status`. */
  get status(): 'running' | 'exited' | 'created' {
    if (this.running) return 'running';
    return this.startedAt ? 'exited' : 'created';
  }

  /**
   * `NetworkSettings.Networks` as dockerd shows it: one endpoint for the container's
   * network mode (`none`, or a network docker-compose created), no address.
   */
  private networks(networkId: (name: string) => string | undefined): Record<string, unknown> {
    const endpoint = {
      IPAMConfig: null,
      Links: null,
      Aliases: null,
      NetworkID: networkId(this.networkMode) ?? '',
      EndpointID: this.running ? containerIdFor(`endpoint:${this.id}`) : '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: '',
      DriverOpts: null,
    };
    return { [this.networkMode]: endpoint };
  }

  /** The entry of `GET /containers/json` (`docker ps`). */
  summary(
    networkId: (name: string) => string | undefined = () => undefined,
  ): Record<string, unknown> {
    const status = this.running
      ? `Up ${humanDuration(Date.now() - this.startedAt)}`
      : this.startedAt
        ? `Exited (${this.exitCode}) ${humanDuration(Date.now() - this.finishedAt)} ago`
        : 'Created';
    return {
      Id: this.id,
      Names: [`/${this.name}`],
      Image: this.image,
      ImageID: this.imageId,
      Command: this.cmd.join(' '),
      Created: Math.floor(this.created / 1000),
      Ports: [],
      Labels: this.labels,
      State: this.status,
      Status: status,
      HostConfig: { NetworkMode: this.networkMode },
      NetworkSettings: { Networks: this.networks(networkId) },
      Mounts: [],
    };
  }

  /** The body of `GET /containers/{id}/json` (`docker inspect`), with dockerd's fields. */
  inspect(
    networkId: (name: string) => string | undefined = () => undefined,
  ): Record<string, unknown> {
    const files = `/var/lib/hijack-demo/containers/${this.id}`;
    return {
      Id: this.id,
      Created: iso(this.created),
      Path: this.cmd[0],
      Args: this.cmd.slice(1),
      State: {
        Status: this.status,
        Running: this.running,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: this.pid,
        ExitCode: this.exitCode,
        Error: '',
        StartedAt: this.startedAt ? iso(this.startedAt) : ZERO_TIME,
        FinishedAt: this.finishedAt ? iso(this.finishedAt) : ZERO_TIME,
      },
      Image: this.imageId,
      // No file exists: the demo has no file system. dockerd's paths, for tools that read them.
      ResolvConfPath: `${files}/resolv.conf`,
      HostnamePath: `${files}/hostname`,
      HostsPath: `${files}/hosts`,
      LogPath: `${files}/${this.id}-json.log`,
      Name: `/${this.name}`,
      RestartCount: 0,
      Driver: 'hijack-demo',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: {
        ...HOST_CONFIG_DEFAULTS,
        NetworkMode: this.networkMode,
        AutoRemove: this.autoRemove,
      },
      GraphDriver: { Data: null, Name: 'hijack-demo' },
      Mounts: [],
      Config: {
        Hostname: this.id.slice(0, 12),
        Domainname: '',
        User: '',
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: this.tty,
        OpenStdin: this.openStdin,
        StdinOnce: this.stdinOnce,
        Env: this.env,
        Cmd: this.cmd,
        Image: this.image,
        Volumes: null,
        WorkingDir: '',
        Entrypoint: null,
        OnBuild: null,
        Labels: this.labels,
      },
      NetworkSettings: {
        ...NETWORK_SETTINGS_DEFAULTS,
        SandboxID: '',
        SandboxKey: '',
        Networks: this.networks(networkId),
      },
    };
  }
}
