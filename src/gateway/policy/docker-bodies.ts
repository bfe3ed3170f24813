/**
 * dockerd's request-body structs (moby api/types, runconfig; field names and Go types as in
 * dockerd 20.10 and later), reduced to what the policy decides on. Fields the policy does not
 * decide on but that dockerd knows are listed as `any`, so that two spellings of one of them
 * are still refused as duplicates; keys dockerd does not know are ignored, as dockerd does.
 *
 * @module
 */
import {
  readGoJson,
  type BodyRead,
  type GoField,
  type GoStruct,
  type GoType,
  type ReadGoJsonOptions,
} from './body-json.js';

const str = 'string' as const;
const strings: GoType = { slice: 'string' };
const stringMap: GoType = { map: 'string' };

const f = (name: string, type: GoType, into?: string): GoField =>
  into === undefined ? { name, type } : { name, type, into };
const anyOf = (...names: string[]): GoField[] => names.map((n) => f(n, 'any'));

/** container.Resources (embedded in HostConfig and UpdateConfig). */
const resourceFields: GoField[] = [
  f('Memory', 'int64'),
  f('NanoCpus', 'int64'),
  f('PidsLimit', { ptr: 'int64' }),
  f('Devices', {
    slice: {
      struct: {
        fields: [f('PathOnHost', str), f('PathInContainer', str), f('CgroupPermissions', str)],
      },
    },
  }),
  f('DeviceCgroupRules', strings),
  f('DeviceRequests', {
    slice: {
      struct: {
        fields: [
          f('Driver', str),
          f('Count', 'int64'),
          f('DeviceIDs', strings),
          f('Capabilities', { slice: strings }),
          f('Options', stringMap),
        ],
      },
    },
  }),
  ...anyOf(
    'CpuShares',
    'CgroupParent',
    'BlkioWeight',
    'BlkioWeightDevice',
    'BlkioDeviceReadBps',
    'BlkioDeviceWriteBps',
    'BlkioDeviceReadIOps',
    'BlkioDeviceWriteIOps',
    'CpuPeriod',
    'CpuQuota',
    'CpuRealtimePeriod',
    'CpuRealtimeRuntime',
    'CpusetCpus',
    'CpusetMems',
    'KernelMemory',
    'KernelMemoryTCP',
    'MemoryReservation',
    'MemorySwap',
    'MemorySwappiness',
    'OomKillDisable',
    'Ulimits',
    'CpuCount',
    'CpuPercent',
    'IOMaximumIOps',
    'IOMaximumBandwidth',
  ),
];

/** mount.Mount (HostConfig.Mounts). */
const mountStruct: GoStruct = {
  fields: [
    f('Type', str),
    f('Source', str),
    f('Target', str),
    f('VolumeOptions', {
      ptr: {
        struct: {
          fields: [
            f('DriverConfig', {
              ptr: { struct: { fields: [f('Name', str), f('Options', stringMap)] } },
            }),
            ...anyOf('NoCopy', 'Labels'),
          ],
        },
      },
    }),
    ...anyOf('ReadOnly', 'Consistency', 'BindOptions', 'TmpfsOptions'),
  ],
};

/** container.HostConfig, Resources flattened in. */
export const hostConfigStruct: GoStruct = {
  fields: [
    f('Binds', strings),
    f('NetworkMode', str),
    f('VolumesFrom', strings),
    f('CapAdd', 'strslice'),
    f('CgroupnsMode', str),
    f('IpcMode', str),
    f('PidMode', str),
    f('Privileged', 'bool'),
    f('SecurityOpt', strings),
    f('UTSMode', str),
    f('UsernsMode', str),
    f('Sysctls', stringMap),
    f('Runtime', str),
    f('Mounts', { slice: { struct: mountStruct } }),
    ...resourceFields,
    ...anyOf(
      'ContainerIDFile',
      'LogConfig',
      'PortBindings',
      'RestartPolicy',
      'AutoRemove',
      'VolumeDriver',
      'CapDrop',
      'Dns',
      'DnsOptions',
      'DnsSearch',
      'ExtraHosts',
      'GroupAdd',
      'Cgroup',
      'Links',
      'OomScoreAdj',
      'PublishAllPorts',
      'ReadonlyRootfs',
      'StorageOpt',
      'Tmpfs',
      'ShmSize',
      'ConsoleSize',
      'Isolation',
      'MaskedPaths',
      'ReadonlyPaths',
      'Init',
    ),
  ],
};

const LEGACY =
  'a host-config field at the top level of a create body is refused (dockerd 20.10 reads it as the host config); put it under HostConfig';

/** runconfig.ContainerConfigWrapper: POST /containers/create. */
export const containerCreateStruct: GoStruct = {
  fields: [
    f('Image', str, 'Config'),
    f('User', str, 'Config'),
    f('Labels', stringMap, 'Config'),
    ...anyOf(
      'Hostname',
      'Domainname',
      'AttachStdin',
      'AttachStdout',
      'AttachStderr',
      'ExposedPorts',
      'Tty',
      'OpenStdin',
      'StdinOnce',
      'Env',
      'Cmd',
      'Healthcheck',
      'ArgsEscaped',
      'Volumes',
      'WorkingDir',
      'Entrypoint',
      'NetworkDisabled',
      'MacAddress',
      'OnBuild',
      'StopSignal',
      'StopTimeout',
      'Shell',
      'Cpuset',
      'NetworkingConfig',
    ),
    f('HostConfig', { ptr: { struct: hostConfigStruct } }),
    ...hostConfigStruct.fields.map((h) => ({ name: h.name, type: 'any' as const, refuse: LEGACY })),
  ],
};

/**
 * The fields of a create body that name other objects but that {@link containerCreateStruct}
 * reads as `any` (the body rules do not decide on them): `NetworkingConfig.EndpointsConfig`
 * (its keys are network names) and `HostConfig.Links`. Scope owner reads them with this
 * struct (Go matches each field name alike here).
 */
export const containerCreateRefsStruct: GoStruct = {
  fields: [
    f('NetworkingConfig', {
      ptr: { struct: { fields: [f('EndpointsConfig', { map: 'any' })] } },
    }),
    f('HostConfig', { ptr: { struct: { fields: [f('Links', strings)] } } }),
  ],
};

/** container.UpdateConfig: POST /containers/{id}/update. */
export const containerUpdateStruct: GoStruct = {
  fields: [...resourceFields, ...anyOf('RestartPolicy')],
};

/** types.ExecConfig: POST /containers/{id}/exec. */
export const execCreateStruct: GoStruct = {
  fields: [
    f('User', str),
    f('Privileged', 'bool'),
    ...anyOf(
      'Tty',
      'AttachStdin',
      'AttachStderr',
      'AttachStdout',
      'Detach',
      'DetachKeys',
      'Env',
      'WorkingDir',
      'Cmd',
      'ConsoleSize',
    ),
  ],
};

/** volume.CreateOptions: POST /volumes/create. */
export const volumeCreateStruct: GoStruct = {
  fields: [
    f('Name', str),
    f('Driver', str),
    f('DriverOpts', stringMap),
    f('Labels', stringMap),
    ...anyOf('ClusterVolumeSpec'),
  ],
};

/** network.IPAM (NetworkCreate.IPAM); `AuxAddress` is spelt `AuxiliaryAddresses` on the wire. */
const ipamStruct: GoStruct = {
  fields: [
    f('Driver', str),
    f('Options', stringMap),
    f('Config', {
      slice: {
        struct: {
          fields: [
            f('Subnet', str),
            f('IPRange', str),
            f('Gateway', str),
            f('AuxiliaryAddresses', stringMap),
          ],
        },
      },
    }),
  ],
};

/**
 * types.NetworkCreateRequest (dockerd 20.10, API 1.41): `Name` plus the embedded
 * types.NetworkCreate. POST /networks/create.
 */
export const networkCreateStruct: GoStruct = {
  fields: [
    f('Name', str),
    f('CheckDuplicate', 'bool'),
    f('Driver', str),
    f('Scope', str),
    f('EnableIPv6', 'bool'),
    f('IPAM', { ptr: { struct: ipamStruct } }),
    f('Internal', 'bool'),
    f('Attachable', 'bool'),
    f('Ingress', 'bool'),
    f('ConfigOnly', 'bool'),
    f('ConfigFrom', { ptr: { struct: { fields: [f('Network', str)] } } }),
    f('Options', stringMap),
    f('Labels', stringMap),
  ],
};

/** types.NetworkConnect: POST /networks/{id}/connect and /disconnect (scope owner reads `Container`). */
export const networkConnectStruct: GoStruct = {
  fields: [f('Container', str), ...anyOf('EndpointConfig', 'Force')],
};

/**
 * The JSON values dockerd reads from the query of POST /build (build_routes.go
 * newImageBuildOptions, each with `json.Unmarshal`): `buildargs` (map[string]*string),
 * `labels` (map[string]string), `cachefrom` ([]string), `ulimits` ([]*units.Ulimit) and
 * `outputs` ([]types.ImageBuildOutput).
 */
export const buildQueryJsonTypes: Readonly<
  Record<'buildargs' | 'labels' | 'cachefrom' | 'ulimits' | 'outputs', GoType>
> = {
  buildargs: { map: { ptr: 'string' } },
  labels: stringMap,
  cachefrom: strings,
  ulimits: {
    slice: {
      ptr: { struct: { fields: [f('Name', str), f('Hard', 'int64'), f('Soft', 'int64')] } },
    },
  },
  outputs: { slice: { struct: { fields: [f('Type', str), f('Attrs', stringMap)] } } },
};

/** The bodies the policy reads, by kind. */
export const dockerBodies = {
  'container-create': containerCreateStruct,
  'container-update': containerUpdateStruct,
  'exec-create': execCreateStruct,
  'volume-create': volumeCreateStruct,
  'network-create': networkCreateStruct,
} as const;

/** A body kind of {@link dockerBodies}. */
export type DockerBodyKind = keyof typeof dockerBodies;

/** Reads a body of `kind` as dockerd does ({@link readGoJson}). */
export function readDockerBody(
  kind: DockerBodyKind,
  body: Uint8Array,
  options?: ReadGoJsonOptions,
): BodyRead {
  return readGoJson(body, dockerBodies[kind], options);
}
