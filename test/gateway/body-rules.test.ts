import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkBodyRules,
  fullImageName,
  OPEN_BODY_RULES,
  sandboxBodyRules,
  underRoots,
  violationMessage,
} from '../../src/gateway/policy/body-rules.js';
import { readDockerBody, type DockerBodyKind } from '../../src/gateway/policy/docker-bodies.js';

const sandbox = sandboxBodyRules(['/srv/work/'], ['mini:*', 'docker.io/library/alpine:*']);

/** The refusal message for a raw body under `rules`, or 'ok'. */
function verdict(kind: DockerBodyKind, body: string, rules = sandbox): string {
  const read = readDockerBody(kind, Buffer.from(body));
  assert.ok(read.ok, read.ok ? '' : read.reason);
  const v = checkBodyRules(kind, read.value, rules);
  return v ? violationMessage(v, rules) : 'ok';
}

const create = (hc: string, image = 'mini:latest') => `{"Image":"${image}","HostConfig":${hc}}`;

test('body-rules: each escape is refused naming its field and rule', () => {
  const cases: [string, string][] = [
    [
      '{"Privileged":true}',
      'HostConfig.Privileged is not allowed (rule: containers.privileged from preset sandbox)',
    ],
    [
      '{"privileged":true}',
      'HostConfig.Privileged is not allowed (rule: containers.privileged from preset sandbox)',
    ],
    [
      '{"\\u0050rivileged":true}',
      'HostConfig.Privileged is not allowed (rule: containers.privileged from preset sandbox)',
    ],
    [
      '{"Binds":["/:/host"]}',
      'HostConfig.Binds[0] binds host path "/", outside the allowed roots (/srv/work) (rule: containers.binds from preset sandbox)',
    ],
    [
      '{"Binds":["/srv/work/../../etc:/e"]}',
      'HostConfig.Binds[0] binds host path "/srv/work/../../etc", outside the allowed roots (/srv/work) (rule: containers.binds from preset sandbox)',
    ],
    [
      '{"Binds":["/srv/workx:/e"]}',
      'HostConfig.Binds[0] binds host path "/srv/workx", outside the allowed roots (/srv/work) (rule: containers.binds from preset sandbox)',
    ],
    [
      '{"Binds":["./x:/e"]}',
      'HostConfig.Binds[0] has a source "./x" that is neither a volume name nor an absolute path (rule: containers.binds from preset sandbox)',
    ],
    [
      '{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/e"}]}',
      'HostConfig.Mounts[0].Source binds host path "/etc", outside the allowed roots (/srv/work) (rule: containers.binds from preset sandbox)',
    ],
    [
      '{"Mounts":[{"Type":"volume","Target":"/e","VolumeOptions":{"DriverConfig":{"Options":{"type":"none","o":"bind","device":"/"}}}}]}',
      'HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options.device makes a bind of host path "/", outside the allowed roots (/srv/work) (rule: containers.binds from preset sandbox)',
    ],
    [
      '{"VolumesFrom":["other"]}',
      'HostConfig.VolumesFrom is not allowed (rule: containers.volumesFrom from preset sandbox)',
    ],
    [
      '{"NetworkMode":"host"}',
      'HostConfig.NetworkMode "host" is not allowed (rule: containers.namespaces from preset sandbox)',
    ],
    [
      '{"NetworkMode":"container:abc"}',
      'HostConfig.NetworkMode "container:abc" is not allowed (rule: containers.namespaces from preset sandbox)',
    ],
    [
      '{"PidMode":"host"}',
      'HostConfig.PidMode "host" is not allowed (rule: containers.namespaces from preset sandbox)',
    ],
    [
      '{"IpcMode":"host"}',
      'HostConfig.IpcMode "host" is not allowed (rule: containers.namespaces from preset sandbox)',
    ],
    [
      '{"UTSMode":"host"}',
      'HostConfig.UTSMode "host" is not allowed (rule: containers.namespaces from preset sandbox)',
    ],
    [
      '{"UsernsMode":"host"}',
      'HostConfig.UsernsMode "host" is not allowed (rule: containers.namespaces from preset sandbox)',
    ],
    [
      '{"CgroupnsMode":"host"}',
      'HostConfig.CgroupnsMode "host" is not allowed (rule: containers.namespaces from preset sandbox)',
    ],
    [
      '{"CapAdd":["SYS_ADMIN"]}',
      'HostConfig.CapAdd[0] "SYS_ADMIN" is not allowed (rule: containers.capAdd from preset sandbox)',
    ],
    [
      '{"CapAdd":"ALL"}',
      'HostConfig.CapAdd[0] "ALL" is not allowed (rule: containers.capAdd from preset sandbox)',
    ],
    [
      '{"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/null"}]}',
      'HostConfig.Devices is not allowed (rule: containers.devices from preset sandbox)',
    ],
    [
      '{"DeviceCgroupRules":["a *:* rwm"]}',
      'HostConfig.DeviceCgroupRules is not allowed (rule: containers.devices from preset sandbox)',
    ],
    [
      '{"DeviceRequests":[{"Count":-1}]}',
      'HostConfig.DeviceRequests is not allowed (rule: containers.devices from preset sandbox)',
    ],
    [
      '{"SecurityOpt":["seccomp=unconfined"]}',
      'HostConfig.SecurityOpt[0] "seccomp=unconfined" is not allowed (rule: containers.securityOpt from preset sandbox)',
    ],
    [
      '{"SecurityOpt":["apparmor:unconfined"]}',
      'HostConfig.SecurityOpt[0] "apparmor:unconfined" is not allowed (rule: containers.securityOpt from preset sandbox)',
    ],
    [
      '{"SecurityOpt":["label=disable"]}',
      'HostConfig.SecurityOpt[0] "label=disable" is not allowed (rule: containers.securityOpt from preset sandbox)',
    ],
    [
      '{"SecurityOpt":["no-new-privileges=false"]}',
      'HostConfig.SecurityOpt[0] "no-new-privileges=false" is not allowed (rule: containers.securityOpt from preset sandbox)',
    ],
    [
      '{"Sysctls":{"kernel.shm_rmid_forced":"1"}}',
      'HostConfig.Sysctls is not allowed (rule: containers.sysctls from preset sandbox)',
    ],
    [
      '{"Runtime":"runsc"}',
      'HostConfig.Runtime "runsc" is not allowed (rule: containers.runtime from preset sandbox)',
    ],
  ];
  for (const [hc, want] of cases) {
    assert.equal(verdict('container-create', create(hc)), want, hc);
    assert.equal(verdict('container-create', create(hc), OPEN_BODY_RULES), 'ok', hc);
  }
  assert.equal(
    verdict('container-create', create('{}', 'evil/image')),
    'Image "evil/image" is not allowed (rule: containers.image from preset sandbox)',
  );
  assert.equal(
    verdict('exec-create', '{"Privileged":true}'),
    'Privileged is not allowed on an exec (rule: execs.privileged from preset sandbox)',
  );
  assert.equal(
    verdict(
      'volume-create',
      '{"Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"}}',
    ),
    'DriverOpts.device makes a bind of host path "/", outside the allowed roots (/srv/work) (rule: volumes.bind from preset sandbox)',
  );
  assert.equal(
    verdict('container-update', '{"Devices":[{"PathOnHost":"/dev/sda"}]}'),
    'Devices is not allowed (rule: containers.devices from preset sandbox)',
  );
});

test('body-rules: what the sandbox allows', () => {
  const ok = [
    '{}',
    '{"Binds":["/srv/work:/w","/srv/work/a/b:/x:ro","/srv/work//c/:/y","data:/d","/only-container-path"]}',
    '{"Mounts":[{"Type":"bind","Source":"/srv/work/sub","Target":"/e"},{"Type":"tmpfs","Target":"/t"},{"Type":"volume","Source":"v","Target":"/v"}]}',
    '{"NetworkMode":"none","PidMode":"","IpcMode":"private","CapAdd":[]}',
    '{"SecurityOpt":["no-new-privileges","no-new-privileges=true","no-new-privileges:1","label=type:svirt_apache_t"]}',
  ];
  for (const hc of ok) assert.equal(verdict('container-create', create(hc)), 'ok', hc);
  assert.equal(verdict('container-create', '{"Image":"mini:latest"}'), 'ok');
  assert.equal(verdict('container-create', create('{}', 'alpine')), 'ok');
  assert.equal(verdict('container-create', create('null', 'alpine:3.20')), 'ok');
  assert.equal(verdict('exec-create', '{"User":"root","Cmd":["sh"]}'), 'ok');
  assert.equal(
    verdict(
      'volume-create',
      '{"Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/srv/work/v"}}',
    ),
    'ok',
  );
  assert.equal(verdict('volume-create', '{"Name":"plain"}'), 'ok');
});

test('body-rules: required limits, exec users, capability allowlist', () => {
  const r = {
    ...sandbox,
    capAdd: ['NET_BIND_SERVICE'],
    execUsers: ['', 'app'],
    requireLimits: { memory: true, pids: true, cpus: true },
  };
  assert.equal(
    verdict('container-create', create('{}'), r),
    'HostConfig.Memory must be set (a memory limit is required) (rule: containers.limits from preset sandbox)',
  );
  assert.equal(
    verdict('container-create', create('{"Memory":1048576}'), r),
    'HostConfig.PidsLimit must be set (a pids limit is required) (rule: containers.limits from preset sandbox)',
  );
  assert.equal(
    verdict('container-create', create('{"Memory":1048576,"PidsLimit":10}'), r),
    'HostConfig.NanoCpus must be set (a CPU limit is required) (rule: containers.limits from preset sandbox)',
  );
  assert.equal(
    verdict(
      'container-create',
      create('{"Memory":1048576,"PidsLimit":10,"NanoCpus":1000,"CapAdd":["cap_net_bind_service"]}'),
      r,
    ),
    'ok',
  );
  assert.equal(
    verdict('exec-create', '{"User":"root"}', r),
    'User "root" is not allowed (rule: execs.user from preset sandbox)',
  );
  assert.equal(verdict('exec-create', '{"User":"app"}', r), 'ok');
  assert.equal(
    verdict('container-update', '{"PidsLimit":-1}', r),
    'PidsLimit may not lift a required limit (rule: containers.limits from preset sandbox)',
  );
  assert.equal(
    verdict('container-update', '{"Memory":-1}', r),
    'Memory may not lift a required limit (rule: containers.limits from preset sandbox)',
  );
  assert.equal(verdict('container-update', '{"Memory":0,"PidsLimit":20}', r), 'ok');
  assert.equal(verdict('container-update', '{"PidsLimit":-1}'), 'ok');
});

test('body-rules: lexical root check and image names', () => {
  assert.equal(underRoots('/srv/work/../work/x', ['/srv/work']), true);
  assert.equal(underRoots('/srv/work/..', ['/srv/work']), false);
  assert.equal(underRoots('//srv//work//', ['/srv/work']), true);
  assert.equal(underRoots('srv/work', ['/srv/work']), false);
  assert.equal(underRoots('/anything', ['/']), true);
  assert.equal(fullImageName('alpine'), 'docker.io/library/alpine:latest');
  assert.equal(fullImageName('me/app:1'), 'docker.io/me/app:1');
  assert.equal(fullImageName('reg:5000/app'), 'reg:5000/app:latest');
  assert.equal(fullImageName('localhost/app@sha256:ab'), 'localhost/app@sha256:ab');
});
