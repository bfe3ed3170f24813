/**
 * Built-in rule sets: `readonly` (monitoring), `exec` (readonly + exec and attach),
 * `sandbox` (run containers that cannot reach the host: routes here, body rules from
 * `sandboxBodyRules` in policy/body-rules.ts) and `tecnativa` (Tecnativa docker-socket-proxy's environment
 * variables, same meanings).
 *
 * @module
 */
import { HijackError } from '../../errors.js';
import { parseRule } from '../policy/rule.js';
import type { Rule } from '../types.js';

/** The preset names `--preset` accepts. */
export const PRESET_NAMES = ['readonly', 'exec', 'sandbox', 'tecnativa'] as const;
/** A preset name. */
export type PresetName = (typeof PRESET_NAMES)[number];

/** Rules of the `readonly` preset: ps, inspect, logs, events, version, info, ping. No exec. */
export const READONLY_RULES = [
  'GET,HEAD /_ping',
  'GET /version',
  'GET /info',
  'GET /events',
  'GET /containers/json',
  'GET /containers/{id}/json',
  'GET /containers/{id}/logs',
];

/** Rules the `exec` preset adds to `readonly`: exec create/start/inspect/resize, attach, wait, resize. */
export const EXEC_RULES = [
  'POST /containers/{id}/exec',
  'POST /exec/{id}/start',
  'GET /exec/{id}/json',
  'POST /exec/{id}/resize',
  'POST /containers/{id}/attach',
  'POST /containers/{id}/resize',
  'POST /containers/{id}/wait',
];

/**
 * Routes of the `sandbox` preset: exec's, plus create, start, stop, kill, restart, remove,
 * wait and copy (`docker run`, `exec`, `logs`, `attach`, `stop`, `rm`, `cp`, `ps`,
 * `events`). Its body rules (`sandboxBodyRules`) refuse what reaches the host.
 */
export const SANDBOX_RULES = [
  ...READONLY_RULES,
  ...EXEC_RULES,
  'POST /containers/create',
  'POST /containers/{id}/start',
  'POST /containers/{id}/stop',
  'POST /containers/{id}/kill',
  'POST /containers/{id}/restart',
  'DELETE /containers/{id}',
  'GET,HEAD,PUT /containers/{id}/archive',
];

/**
 * Tecnativa's section variables and the API path each one opens (its haproxy.cfg allows
 * `^(/v[\d.]+)?(/\w+)?/<section>` when the variable is true). Defaults are Tecnativa's:
 * EVENTS, PING and VERSION on, everything else off.
 */
export const TECNATIVA_SECTIONS: Record<string, { path: string; default: boolean }> = {
  AUTH: { path: 'auth', default: false },
  BUILD: { path: 'build', default: false },
  COMMIT: { path: 'commit', default: false },
  CONFIGS: { path: 'configs', default: false },
  CONTAINERS: { path: 'containers', default: false },
  DISTRIBUTION: { path: 'distribution', default: false },
  EVENTS: { path: 'events', default: true },
  EXEC: { path: 'exec', default: false },
  GRPC: { path: 'grpc', default: false },
  IMAGES: { path: 'images', default: false },
  INFO: { path: 'info', default: false },
  NETWORKS: { path: 'networks', default: false },
  NODES: { path: 'nodes', default: false },
  PING: { path: '_ping', default: true },
  PLUGINS: { path: 'plugins', default: false },
  SECRETS: { path: 'secrets', default: false },
  SERVICES: { path: 'services', default: false },
  SESSION: { path: 'session', default: false },
  SWARM: { path: 'swarm', default: false },
  SYSTEM: { path: 'system', default: false },
  TASKS: { path: 'tasks', default: false },
  VERSION: { path: 'version', default: true },
  VOLUMES: { path: 'volumes', default: false },
};

/** Tecnativa's container-action variables (effective only with POST=1, as in its haproxy.cfg). */
export const TECNATIVA_ACTIONS: Record<string, string[]> = {
  ALLOW_START: ['start'],
  ALLOW_STOP: ['stop'],
  ALLOW_RESTARTS: ['stop', 'restart', 'kill'],
};

/**
 * Read a Tecnativa boolean variable: `1` (or any non-zero integer) is true, `0` false, unset
 * the default. Anything else throws ERR_CONFIG (HAProxy would read it as an integer).
 */
export function tecnativaFlag(
  env: Record<string, string | undefined>,
  name: string,
  def: boolean,
): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  if (!/^\s*-?\d+\s*$/.test(raw)) {
    throw new HijackError(
      'ERR_CONFIG',
      `env ${name}=${JSON.stringify(raw)}: use 1 or 0 (as with docker-socket-proxy)`,
    );
  }
  return Number(raw) !== 0;
}

/**
 * Rules equivalent to Tecnativa docker-socket-proxy's haproxy.cfg under `env`: POST=0 allows
 * only GET and HEAD; each enabled section allows its path prefix (segment-wise here);
 * ALLOW_START / ALLOW_STOP / ALLOW_RESTARTS allow those container actions when POST=1.
 */
export function tecnativaRules(env: Record<string, string | undefined>): Rule[] {
  const post = tecnativaFlag(env, 'POST', false);
  const methods = post ? '*' : 'GET,HEAD';
  const rules: Rule[] = [];
  for (const [name, s] of Object.entries(TECNATIVA_SECTIONS)) {
    if (tecnativaFlag(env, name, s.default))
      rules.push(parseRule(`${methods} /${s.path}/**`, 'allow', `env ${name}`));
  }
  for (const [name, actions] of Object.entries(TECNATIVA_ACTIONS)) {
    if (tecnativaFlag(env, name, false) && post) {
      for (const a of actions)
        rules.push(parseRule(`POST /containers/{id}/${a}`, 'allow', `env ${name}`));
    }
  }
  return rules;
}

/** The rules of a preset; `env` feeds `tecnativa`. Throws ERR_CONFIG for an unknown name. */
export function presetRules(name: string, env: Record<string, string | undefined> = {}): Rule[] {
  switch (name) {
    case 'readonly':
      return READONLY_RULES.map((t) => parseRule(t, 'allow', 'preset readonly'));
    case 'exec':
      return [...READONLY_RULES, ...EXEC_RULES].map((t) => parseRule(t, 'allow', 'preset exec'));
    case 'sandbox':
      return SANDBOX_RULES.map((t) => parseRule(t, 'allow', 'preset sandbox'));
    case 'tecnativa':
      return tecnativaRules(env);
    default:
      throw new HijackError(
        'ERR_CONFIG',
        `unknown preset '${name}' (use ${PRESET_NAMES.join(', ')})`,
      );
  }
}
