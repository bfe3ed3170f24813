/**
 * System endpoints of the demo engine: `/_ping`, `/version`, `/info`.
 *
 * @module
 */
import { cpus, release, totalmem } from 'node:os';
import { SERVER_VERSION, type EngineContext } from './context.js';
import { imageNames } from './images.js';
import { sendJson } from './http.js';
import type { Call } from './route-table.js';

/** `GET`/`HEAD /_ping`: `OK` with the API version for negotiation. */
export function ping(ctx: EngineContext, { res, method }: Call): void {
  res.writeHead(200, {
    ...ctx.headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': 2,
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
  });
  res.end(method === 'HEAD' ? undefined : 'OK');
}

const arch = () => (process.arch === 'x64' ? 'amd64' : process.arch);
/** When the demo says it was built: fixed (the demo has no build). */
const BUILD_TIME = '2025-01-01T00:00:00.000000000+00:00';

/** `GET /version` (`docker version`): every field dockerd fills, Components[0].Details too. */
export function version(ctx: EngineContext, { res }: Call): void {
  const facts = {
    GitCommit: 'hijack',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: arch(),
    KernelVersion: release(),
    BuildTime: BUILD_TIME,
  };
  sendJson(
    res,
    200,
    {
      Platform: { Name: 'hijack demo engine' },
      Components: [
        {
          Name: 'Engine',
          Version: SERVER_VERSION,
          Details: {
            ApiVersion: ctx.apiVersion,
            Arch: facts.Arch,
            BuildTime: facts.BuildTime,
            Experimental: 'false',
            GitCommit: facts.GitCommit,
            GoVersion: facts.GoVersion,
            KernelVersion: facts.KernelVersion,
            MinAPIVersion: ctx.minApiVersion,
            Os: facts.Os,
          },
        },
      ],
      Version: SERVER_VERSION,
      ApiVersion: ctx.apiVersion,
      MinAPIVersion: ctx.minApiVersion,
      ...facts,
    },
    ctx.headers,
  );
}

/** `GET /info` (`docker info`): dockerd's fields, with the demo's values. */
export function info(ctx: EngineContext, { res }: Call): void {
  const all = ctx.containers;
  const running = all.filter((c) => c.running).length;
  sendJson(
    res,
    200,
    {
      ID: 'HIJK:DEMO:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000',
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: all.length - running,
      Images: imageNames(ctx).length,
      Driver: 'hijack-demo',
      DriverStatus: [],
      Plugins: { Volume: [], Network: ['none'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: false,
      SwapLimit: false,
      KernelMemory: false,
      KernelMemoryTCP: false,
      CpuCfsPeriod: false,
      CpuCfsQuota: false,
      CPUShares: false,
      CPUSet: false,
      PidsLimit: false,
      IPv4Forwarding: false,
      BridgeNfIptables: false,
      BridgeNfIp6tables: false,
      Debug: false,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'none',
      CgroupVersion: '2',
      NEventsListener: ctx.events.listenerCount('event'),
      KernelVersion: release(),
      OperatingSystem: 'hijack demo engine',
      OSVersion: SERVER_VERSION,
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        AllowNondistributableArtifactsCIDRs: [],
        AllowNondistributableArtifactsHostnames: [],
        InsecureRegistryCIDRs: [],
        IndexConfigs: {},
        Mirrors: [],
      },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: '/nonexistent/hijack-demo',
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: 'hijack-demo',
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: SERVER_VERSION,
      Runtimes: { 'hijack-demo': { path: 'built-in commands' } },
      DefaultRuntime: 'hijack-demo',
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '', Expected: '' },
      RuncCommit: { ID: '', Expected: '' },
      InitCommit: { ID: '', Expected: '' },
      SecurityOptions: [],
      Warnings: ['the hijack demo engine runs built-in commands in its own process: no isolation'],
    },
    ctx.headers,
  );
}
