/**
 * Body rules: what a client may put into the requests that define what runs
 * (`POST /containers/create`, `/containers/{id}/update`, `/containers/{id}/exec`,
 * `/volumes/create`, `/networks/create`; the query of `POST /build` is checked in
 * build-query.ts with the same rules). Pure: a decoded body (read as dockerd reads it, see
 * {@link readDockerBody}) and the rules go in; the first violation comes out, naming the
 * field and the rule (`HostConfig.Privileged is not allowed (rule: containers.privileged
 * from preset sandbox)`).
 *
 * @module
 */
import { posix } from 'node:path';
import {
  goList as list,
  goObject as obj,
  goText as text,
  type GoObject as Obj,
  type GoValue,
} from './body-json.js';
import type { DockerBodyKind } from './docker-bodies.js';

/** `'*'`: anything; a list: only these. */
export type Allowlist = '*' | readonly string[];

/** What a client may state in the bodies; each rule has a name used in refusals. */
export interface BodyRules {
  /** Where these rules come from, for messages (`preset sandbox`, `gateway.yaml:12`). */
  source: string;
  /** `containers.privileged` and `execs.privileged`: `--privileged` on containers and execs. */
  privileged: boolean;
  /** `containers.capAdd`: capabilities `CapAdd` may name (upper case, no `CAP_`). */
  capAdd: Allowlist;
  /** `containers.devices`: `Devices`, `DeviceCgroupRules`, `DeviceRequests`. */
  devices: boolean;
  /** `containers.namespaces`: `host` or `container:…` in the *Mode fields. */
  hostNamespaces: boolean;
  /** `containers.securityOpt`: any `SecurityOpt`; when false only no-new-privileges and label user/role/type/level. */
  securityOpt: boolean;
  /** `containers.sysctls`: any `Sysctls`. */
  sysctls: boolean;
  /** `containers.runtime`: runtimes `Runtime` may name (`''` is the default runtime). */
  runtimes: Allowlist;
  /** `containers.binds` / `volumes.bind`: host paths a bind may come from; `'*'`: any. */
  bindRoots: Allowlist;
  /** `containers.volumesFrom`: `VolumesFrom`. */
  volumesFrom: boolean;
  /** `containers.image`: image patterns (`*` matches any run of characters). */
  images: Allowlist;
  /** `execs.user`: users an exec may run as (`''` is the container's user). */
  execUsers: Allowlist;
  /** `containers.limits`: limits a create must set. */
  requireLimits: { memory: boolean; pids: boolean; cpus: boolean };
  /** `networks.driver`: drivers `Driver` may name (`''` is dockerd's default, `bridge`). */
  networkDrivers: Allowlist;
  /** `networks.options`: driver option keys `Options` may set (e.g. not `com.docker.network.bridge.name`). */
  networkOptions: Allowlist;
  /** `networks.ipam`: an IPAM driver other than the default, IPAM options or address pools. */
  networkIpam: boolean;
  /** `networks.configFrom`: `ConfigFrom` (a config-only network, e.g. a macvlan) and `ConfigOnly`. */
  networkConfigFrom: boolean;
  /** `networks.ingress`: `Ingress` (the swarm routing mesh). */
  networkIngress: boolean;
  /** `builds.networkMode`: values of the build query's `networkmode` (`''` is the default). */
  buildNetworkModes: Allowlist;
  /** `builds.remote`: a build `remote` context that dockerd fetches (git or URL). */
  buildRemote: boolean;
  /**
   * Under scope owner: `container:<id>` modes and `VolumesFrom` are decided by ownership (the
   * container must be the client's) instead of by `hostNamespaces` and `volumesFrom`.
   */
  ownedRefs?: boolean;
}

/** Rules that allow everything dockerd allows (the default when no body rule is set). */
export const OPEN_BODY_RULES: BodyRules = {
  source: 'default',
  privileged: true,
  capAdd: '*',
  devices: true,
  hostNamespaces: true,
  securityOpt: true,
  sysctls: true,
  runtimes: '*',
  bindRoots: '*',
  volumesFrom: true,
  images: '*',
  execUsers: '*',
  requireLimits: { memory: false, pids: false, cpus: false },
  networkDrivers: '*',
  networkOptions: '*',
  networkIpam: true,
  networkConfigFrom: true,
  networkIngress: true,
  buildNetworkModes: '*',
  buildRemote: true,
};

/** Network drivers the sandbox allows: dockerd's default (`''`) and `bridge`. */
export const SANDBOX_NETWORK_DRIVERS: readonly string[] = ['', 'bridge'];
/** Build network modes the sandbox allows: the default, `default`, `bridge` and `none`. */
export const SANDBOX_BUILD_NETWORK_MODES: readonly string[] = ['', 'default', 'bridge', 'none'];

/** The `sandbox` preset's body rules: nothing that reaches the host; binds under `bindRoots` only. */
export function sandboxBodyRules(
  bindRoots: readonly string[] = [],
  images: Allowlist = '*',
  source = 'preset sandbox',
): BodyRules {
  return {
    source,
    privileged: false,
    capAdd: [],
    devices: false,
    hostNamespaces: false,
    securityOpt: false,
    sysctls: false,
    runtimes: [''],
    bindRoots: bindRoots.map(normalizeRoot),
    volumesFrom: false,
    images,
    execUsers: '*',
    requireLimits: { memory: false, pids: false, cpus: false },
    networkDrivers: SANDBOX_NETWORK_DRIVERS,
    networkOptions: [],
    networkIpam: false,
    networkConfigFrom: false,
    networkIngress: false,
    buildNetworkModes: SANDBOX_BUILD_NETWORK_MODES,
    buildRemote: false,
  };
}

/** An absolute root, lexically normalised (no `..`, `//`, trailing `/`); throws on a relative one. */
export function normalizeRoot(root: string): string {
  if (!root.startsWith('/')) throw new Error(`bind root '${root}' is not an absolute path`);
  const n = posix.normalize(root);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** True when host path `p` is lexically inside one of `roots` (or is one). */
export function underRoots(p: string, roots: Allowlist): boolean {
  if (roots === '*') return true;
  if (!p.startsWith('/')) return false;
  let n = posix.normalize(p);
  if (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return roots.some((r) => n === r || n.startsWith(r === '/' ? '/' : `${r}/`));
}

/** Matches `s` against a pattern where `*` stands for any run of characters. */
export function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
  return re.test(s);
}

/** Docker's full form of an image reference: `alpine` → `docker.io/library/alpine:latest`. */
export function fullImageName(ref: string): string {
  let name = ref;
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0 || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    name = `docker.io/${slash < 0 ? 'library/' : ''}${name}`;
  }
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (!last.includes(':') && !last.includes('@')) name += ':latest';
  return name;
}

/** True when `image` (or its full form) matches one of the patterns. */
export function imageAllowed(image: string, images: Allowlist): boolean {
  if (images === '*') return true;
  const full = fullImageName(image);
  return images.some((p) => globMatch(p, image) || globMatch(p, full));
}

/** A body that breaks a rule: the field, what is wrong, the rule's name. */
export interface BodyViolation {
  field: string;
  problem: string;
  rule: string;
}

/** The refusal message for a violation. */
export function violationMessage(v: BodyViolation, rules: BodyRules): string {
  return `${v.field} ${v.problem} (rule: ${v.rule} from ${rules.source})`;
}

const NAMESPACE_FIELDS = [
  'NetworkMode',
  'PidMode',
  'IpcMode',
  'UTSMode',
  'UsernsMode',
  'CgroupnsMode',
] as const;

/** ParseBool's true spellings (Go strconv), for `no-new-privileges=…`. */
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

/** True when a security option keeps the container confined (see {@link BodyRules.securityOpt}). */
export function confinedSecurityOpt(opt: string): boolean {
  if (opt === 'no-new-privileges') return true;
  const m = /^([a-z-]+)[=:](.*)$/s.exec(opt);
  if (!m) return false;
  if (m[1] === 'no-new-privileges') return GO_TRUE.has(m[2]!);
  if (m[1] === 'label') return /^(user|role|type|level):/.test(m[2]!);
  return false;
}

/** A named volume dockerd accepts (daemon/names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`). */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function checkBind(bind: string, i: number, r: BodyRules): BodyViolation | undefined {
  if (r.bindRoots === '*') return undefined;
  const field = `HostConfig.Binds[${i}]`;
  const colon = bind.indexOf(':');
  if (colon < 0) return undefined; // an anonymous volume at a container path
  const src = bind.slice(0, colon);
  if (src.startsWith('/')) {
    return underRoots(src, r.bindRoots)
      ? undefined
      : {
          field,
          problem: `binds host path ${JSON.stringify(src)}, outside the allowed roots${describeRoots(r.bindRoots)}`,
          rule: 'containers.binds',
        };
  }
  return VOLUME_NAME.test(src)
    ? undefined
    : {
        field,
        problem: `has a source ${JSON.stringify(src)} that is neither a volume name nor an absolute path`,
        rule: 'containers.binds',
      };
}

function describeRoots(roots: readonly string[]): string {
  return roots.length === 0 ? ' (none are allowed)' : ` (${roots.join(', ')})`;
}

/** Local-driver options that make a volume a bind of a host path. */
function checkVolumeOptions(
  driver: string,
  opts: Obj | null,
  field: string,
  rule: string,
  r: BodyRules,
): BodyViolation | undefined {
  if (r.bindRoots === '*' || opts === null) return undefined;
  if (driver !== '' && driver !== 'local') {
    return { field, problem: `uses volume driver ${JSON.stringify(driver)} with options`, rule };
  }
  const device = text(opts['device']);
  const o = text(opts['o']);
  const isBind = o.split(',').some((x) => x.trim() === 'bind' || x.trim() === 'rbind');
  if (device === '' && !isBind) return undefined;
  if (device !== '' && underRoots(device, r.bindRoots) && text(opts['type']) === 'none') {
    return undefined;
  }
  return {
    field: `${field}.device`,
    problem: `makes a bind of host path ${JSON.stringify(device)}, outside the allowed roots${describeRoots(r.bindRoots)}`,
    rule,
  };
}

function checkHostConfig(hc: Obj, r: BodyRules, kind: DockerBodyKind): BodyViolation | undefined {
  const at = kind === 'container-create' ? 'HostConfig.' : '';
  if (kind === 'container-create') {
    if (!r.privileged && hc['Privileged'] === true) {
      return {
        field: 'HostConfig.Privileged',
        problem: 'is not allowed',
        rule: 'containers.privileged',
      };
    }
    if (r.capAdd !== '*') {
      for (const [i, c] of list(hc['CapAdd']).entries()) {
        const cap = text(c).toUpperCase().replace(/^CAP_/, '');
        if (!r.capAdd.includes(cap)) {
          return {
            field: `HostConfig.CapAdd[${i}]`,
            problem: `${JSON.stringify(text(c))} is not allowed`,
            rule: 'containers.capAdd',
          };
        }
      }
    }
    if (!r.hostNamespaces) {
      for (const f of NAMESPACE_FIELDS) {
        const v = text(hc[f]);
        const lower = v.toLowerCase();
        // Only these three take a container's namespace (the owner step checks the container).
        const owned =
          r.ownedRefs === true &&
          (f === 'NetworkMode' || f === 'PidMode' || f === 'IpcMode') &&
          v.startsWith('container:');
        if (lower === 'host' || (lower.startsWith('container:') && !owned)) {
          return {
            field: `HostConfig.${f}`,
            problem: `${JSON.stringify(v)} is not allowed`,
            rule: 'containers.namespaces',
          };
        }
      }
    }
    if (!r.securityOpt) {
      for (const [i, o] of list(hc['SecurityOpt']).entries()) {
        if (!confinedSecurityOpt(text(o))) {
          return {
            field: `HostConfig.SecurityOpt[${i}]`,
            problem: `${JSON.stringify(text(o))} is not allowed`,
            rule: 'containers.securityOpt',
          };
        }
      }
    }
    if (!r.sysctls && Object.keys(obj(hc['Sysctls']) ?? {}).length > 0) {
      return { field: 'HostConfig.Sysctls', problem: 'is not allowed', rule: 'containers.sysctls' };
    }
    if (r.runtimes !== '*' && !r.runtimes.includes(text(hc['Runtime']))) {
      return {
        field: 'HostConfig.Runtime',
        problem: `${JSON.stringify(text(hc['Runtime']))} is not allowed`,
        rule: 'containers.runtime',
      };
    }
    for (const [i, b] of list(hc['Binds']).entries()) {
      const v = checkBind(text(b), i, r);
      if (v) return v;
    }
    for (const [i, m] of list(hc['Mounts']).entries()) {
      const mount = obj(m) ?? {};
      const type = text(mount['Type']);
      const field = `HostConfig.Mounts[${i}]`;
      if (r.bindRoots === '*') continue;
      if (type === 'bind') {
        if (!underRoots(text(mount['Source']), r.bindRoots)) {
          return {
            field: `${field}.Source`,
            problem: `binds host path ${JSON.stringify(text(mount['Source']))}, outside the allowed roots${describeRoots(r.bindRoots)}`,
            rule: 'containers.binds',
          };
        }
      } else if (type === 'volume') {
        const dc = obj(obj(mount['VolumeOptions'])?.['DriverConfig']);
        if (dc) {
          const v = checkVolumeOptions(
            text(dc['Name']),
            obj(dc['Options']),
            `${field}.VolumeOptions.DriverConfig.Options`,
            'containers.binds',
            r,
          );
          if (v) return v;
        }
      } else if (type !== 'tmpfs') {
        return {
          field: `${field}.Type`,
          problem: `${JSON.stringify(type)} is not allowed`,
          rule: 'containers.binds',
        };
      }
    }
    if (!r.volumesFrom && r.ownedRefs !== true && list(hc['VolumesFrom']).length > 0) {
      return {
        field: 'HostConfig.VolumesFrom',
        problem: 'is not allowed',
        rule: 'containers.volumesFrom',
      };
    }
  }
  if (!r.devices) {
    for (const f of ['Devices', 'DeviceCgroupRules', 'DeviceRequests']) {
      if (list(hc[f]).length > 0)
        return { field: `${at}${f}`, problem: 'is not allowed', rule: 'containers.devices' };
    }
  }
  if (kind === 'container-create') {
    const lim = r.requireLimits;
    if (lim.memory && !((hc['Memory'] as bigint) > 0n)) {
      return {
        field: 'HostConfig.Memory',
        problem: 'must be set (a memory limit is required)',
        rule: 'containers.limits',
      };
    }
    if (lim.pids && !(typeof hc['PidsLimit'] === 'bigint' && hc['PidsLimit'] > 0n)) {
      return {
        field: 'HostConfig.PidsLimit',
        problem: 'must be set (a pids limit is required)',
        rule: 'containers.limits',
      };
    }
    if (lim.cpus && !((hc['NanoCpus'] as bigint) > 0n)) {
      return {
        field: 'HostConfig.NanoCpus',
        problem: 'must be set (a CPU limit is required)',
        rule: 'containers.limits',
      };
    }
  }
  return undefined;
}

/**
 * The first rule `body` (of `kind`, decoded by {@link readDockerBody}) breaks, or undefined.
 * Pure.
 */
export function checkBodyRules(
  kind: DockerBodyKind,
  body: GoValue,
  r: BodyRules,
): BodyViolation | undefined {
  const b = obj(body) ?? {};
  switch (kind) {
    case 'container-create': {
      const cfg = obj(b['Config']) ?? {};
      const image = text(cfg['Image']);
      if (!imageAllowed(image, r.images)) {
        return {
          field: 'Image',
          problem: `${JSON.stringify(image)} is not allowed`,
          rule: 'containers.image',
        };
      }
      const hc = obj(b['HostConfig']);
      // No HostConfig: dockerd's defaults (nothing privileged, no binds); limits still required.
      return checkHostConfig(hc ?? { Memory: 0n, NanoCpus: 0n, PidsLimit: null }, r, kind);
    }
    case 'container-update': {
      // dockerd's update leaves a limit of 0 unchanged; a negative one (or a pids limit of 0)
      // lifts it.
      const lim = r.requireLimits;
      const pids = b['PidsLimit'];
      const lifted: [boolean, string, boolean][] = [
        [lim.memory, 'Memory', (b['Memory'] as bigint) < 0n],
        [lim.pids, 'PidsLimit', typeof pids === 'bigint' && pids <= 0n],
        [lim.cpus, 'NanoCpus', (b['NanoCpus'] as bigint) < 0n],
      ];
      for (const [required, field, off] of lifted) {
        if (required && off) {
          return { field, problem: 'may not lift a required limit', rule: 'containers.limits' };
        }
      }
      return checkHostConfig(b, r, kind);
    }
    case 'exec-create':
      if (!r.privileged && b['Privileged'] === true) {
        return {
          field: 'Privileged',
          problem: 'is not allowed on an exec',
          rule: 'execs.privileged',
        };
      }
      if (r.execUsers !== '*' && !r.execUsers.includes(text(b['User']))) {
        return {
          field: 'User',
          problem: `${JSON.stringify(text(b['User']))} is not allowed`,
          rule: 'execs.user',
        };
      }
      return undefined;
    case 'volume-create':
      return checkVolumeOptions(
        text(b['Driver']),
        obj(b['DriverOpts']),
        'DriverOpts',
        'volumes.bind',
        r,
      );
    case 'network-create':
      return checkNetworkCreate(b, r);
  }
}

/** The rules of `POST /networks/create` (see {@link BodyRules}, `networks.*`). */
function checkNetworkCreate(b: Obj, r: BodyRules): BodyViolation | undefined {
  const driver = text(b['Driver']);
  if (r.networkDrivers !== '*' && !r.networkDrivers.includes(driver)) {
    return {
      field: 'Driver',
      problem: `${JSON.stringify(driver)} is not allowed`,
      rule: 'networks.driver',
    };
  }
  if (r.networkOptions !== '*') {
    for (const k of Object.keys(obj(b['Options']) ?? {})) {
      if (!r.networkOptions.includes(k)) {
        return {
          field: `Options[${JSON.stringify(k)}]`,
          problem: 'is not allowed',
          rule: 'networks.options',
        };
      }
    }
  }
  if (!r.networkIpam) {
    const ipam = obj(b['IPAM']);
    const ipamDriver = text(ipam?.['Driver']);
    if (ipamDriver !== '' && ipamDriver !== 'default') {
      return {
        field: 'IPAM.Driver',
        problem: `${JSON.stringify(ipamDriver)} is not allowed`,
        rule: 'networks.ipam',
      };
    }
    if (Object.keys(obj(ipam?.['Options']) ?? {}).length > 0) {
      return { field: 'IPAM.Options', problem: 'is not allowed', rule: 'networks.ipam' };
    }
    if (list(ipam?.['Config']).length > 0) {
      return { field: 'IPAM.Config', problem: 'is not allowed', rule: 'networks.ipam' };
    }
  }
  if (!r.networkConfigFrom) {
    const from = obj(b['ConfigFrom']);
    if (from !== null) {
      return {
        field: 'ConfigFrom',
        problem: `${JSON.stringify(text(from['Network']))} is not allowed`,
        rule: 'networks.configFrom',
      };
    }
    if (b['ConfigOnly'] === true) {
      return { field: 'ConfigOnly', problem: 'is not allowed', rule: 'networks.configFrom' };
    }
  }
  if (!r.networkIngress && b['Ingress'] === true) {
    return { field: 'Ingress', problem: 'is not allowed', rule: 'networks.ingress' };
  }
  return undefined;
}
