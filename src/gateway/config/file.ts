/**
 * Loading a gateway config file (YAML, or JSON, which YAML reads too). Every error names
 * the file, line and column: `config.yaml:12:5: rule 'GET /containers/{id' has an unclosed placeholder`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { HijackError, isHijackError } from '../../errors.js';
import { parseRule } from '../policy/rule.js';
import type { IdentityMatcher, Rule, RuleBlock, RuleEffect, Scope } from '../types.js';
import { SCOPES } from '../policy/owner.js';
import { parseCidr } from '../identity/cidr.js';
import {
  normalizeRoot,
  sandboxBodyRules,
  type Allowlist,
  type BodyRules,
} from '../policy/body-rules.js';
import { PRESET_NAMES } from './presets.js';
import type { GatewaySettings, TlsFiles } from './settings.js';
import {
  parseBool,
  parseCount,
  parseDuration,
  parseEndpoint,
  parseId,
  parseLogLevel,
  parseSize,
} from './values.js';

class Ctx {
  constructor(
    readonly name: string,
    readonly lc: LineCounter,
    readonly dir: string,
  ) {}
  at(node: Node | null | undefined): string {
    const off = node?.range?.[0];
    if (off === undefined) return this.name;
    const p = this.lc.linePos(off);
    return `${this.name}:${p.line}:${p.col}`;
  }
  /** `file:line` of a node, as sources of rules read in messages. */
  line(node: Node | null | undefined): string {
    return this.at(node).replace(/:\d+$/, '');
  }
  fail(node: Node | null | undefined, msg: string): never {
    throw new HijackError('ERR_CONFIG', `${this.at(node)}: ${msg}`, { file: this.name });
  }
  /** Run fn; a HijackError from it is re-thrown with this node's position. */
  wrap<T>(node: Node | null | undefined, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isHijackError(err)) this.fail(node, err.message);
      throw err;
    }
  }
  path(p: string): string {
    return resolve(this.dir, p);
  }
}

function str(ctx: Ctx, node: Node | null | undefined, what: string): string {
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
    ctx.fail(node, `${what} must be a string`);
  }
  return String(node.value);
}

function list(ctx: Ctx, node: Node | null | undefined, what: string): Node[] {
  if (isSeq(node)) return node.items as Node[];
  if (isScalar(node)) return [node];
  ctx.fail(node, `${what} must be a list`);
}

function strList(ctx: Ctx, node: Node | null | undefined, what: string): string[] {
  return list(ctx, node, what).map((n) => str(ctx, n, `each entry of ${what}`));
}

function entries(
  ctx: Ctx,
  node: Node | null | undefined,
  what: string,
  known: readonly string[],
): [string, Node, Node][] {
  if (!isMap(node)) ctx.fail(node, `${what} must be a mapping`);
  const out: [string, Node, Node][] = [];
  for (const pair of (node as YAMLMap).items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    if (!known.includes(key)) {
      ctx.fail(keyNode, `unknown key '${key}' in ${what} (known: ${known.join(', ')})`);
    }
    out.push([key, keyNode, pair.value as Node]);
  }
  return out;
}

function rules(ctx: Ctx, node: Node, effect: RuleEffect): Rule[] {
  return list(ctx, node, effect).map((n) => {
    const text = str(ctx, n, `each ${effect} rule`);
    return ctx.wrap(n, () => parseRule(text, effect, ctx.at(n)));
  });
}

const TOP_KEYS = [
  'listen',
  'upstream',
  'preset',
  'allow',
  'deny',
  'blocks',
  'auth',
  'tls',
  'upstreamTls',
  'timeouts',
  'limits',
  'forwardProxy',
  'logLevel',
  'logStreamInterval',
  'metricsListen',
  'liveListen',
  'maxTargetLength',
  'allowBindRoot',
  'allowImage',
  'body',
  'scope',
] as const;

const BODY_FLAGS = [
  'privileged',
  'devices',
  'hostNamespaces',
  'securityOpt',
  'sysctls',
  'volumesFrom',
  'networkIpam',
  'networkConfigFrom',
  'networkIngress',
  'buildRemote',
] as const;
const BODY_LISTS = [
  'capAdd',
  'runtimes',
  'bindRoots',
  'images',
  'execUsers',
  'networkDrivers',
  'networkOptions',
  'buildNetworkModes',
] as const;

function yamlBool(ctx: Ctx, node: Node, what: string): boolean {
  if (!isScalar(node) || typeof node.value !== 'boolean')
    ctx.fail(node, `${what} must be true or false`);
  return node.value as boolean;
}

/**
 * A `body:` mapping: the sandbox's rules (nothing that reaches the host, no binds) with the
 * keys given overriding them; the source in messages is the file and line of `body`.
 */
function bodyRules(ctx: Ctx, keyNode: Node, node: Node): BodyRules {
  const r: BodyRules = sandboxBodyRules([], '*', ctx.line(keyNode));
  const known = [...BODY_FLAGS, ...BODY_LISTS, 'requireLimits'];
  for (const [k, , v] of entries(ctx, node, 'body', known)) {
    if ((BODY_FLAGS as readonly string[]).includes(k)) {
      r[k as (typeof BODY_FLAGS)[number]] = yamlBool(ctx, v, `body.${k}`);
    } else if (k === 'requireLimits') {
      for (const [lk, , lv] of entries(ctx, v, 'body.requireLimits', ['memory', 'pids', 'cpus'])) {
        r.requireLimits[lk as 'memory' | 'pids' | 'cpus'] = yamlBool(
          ctx,
          lv,
          `body.requireLimits.${lk}`,
        );
      }
    } else {
      const all = isScalar(v) && v.value === '*';
      let vals: Allowlist = all ? '*' : strList(ctx, v, `body.${k}`);
      if (k === 'bindRoots' && vals !== '*') {
        vals = vals.map((p) => ctx.wrap(v, () => normalizeRoot(p)));
      }
      if (k === 'capAdd' && vals !== '*')
        vals = vals.map((c) => c.toUpperCase().replace(/^CAP_/, ''));
      r[k as (typeof BODY_LISTS)[number]] = vals;
    }
  }
  return r;
}

/** A `scope:` value: `owner` or `all`. */
function scopeValue(ctx: Ctx, node: Node): Scope {
  const v = str(ctx, node, 'scope');
  if (!(SCOPES as readonly string[]).includes(v))
    ctx.fail(node, `unknown scope '${v}' (use ${SCOPES.join(', ')})`);
  return v as Scope;
}

function matcher(ctx: Ctx, node: Node): IdentityMatcher {
  const m: IdentityMatcher = {};
  for (const [k, , v] of entries(ctx, node, 'when', [
    'token',
    'uid',
    'gid',
    'cidr',
    'subject',
    'fingerprint',
  ])) {
    const vals = strList(ctx, v, `when.${k}`);
    if (k === 'uid' || k === 'gid') m[k] = vals.map((x) => ctx.wrap(v, () => parseId(x, k)));
    else {
      if (k === 'cidr') vals.forEach((c) => ctx.wrap(v, () => parseCidr(c)));
      m[k as 'token' | 'cidr' | 'subject' | 'fingerprint'] = vals;
    }
  }
  return m;
}

function tlsFiles(ctx: Ctx, node: Node, what: string): TlsFiles {
  const t: TlsFiles = {};
  for (const [k, , v] of entries(ctx, node, what, ['cert', 'key', 'ca', 'servername'])) {
    const s = str(ctx, v, `${what}.${k}`);
    t[k as keyof TlsFiles] = k === 'servername' ? s : ctx.path(s);
  }
  return t;
}

/**
 * Parse config text into {@link GatewaySettings}; `name` is how messages name the file, `dir`
 * is where relative paths (token files, TLS files) are resolved. Throws ERR_CONFIG with
 * `name:line:col:` for every problem.
 */
export function parseConfigText(text: string, name: string, dir = process.cwd()): GatewaySettings {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const ctx = new Ctx(name, lc, dir);
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    const p = yamlErr.linePos?.[0];
    const where = p ? `${name}:${p.line}:${p.col}` : name;
    throw new HijackError(
      'ERR_CONFIG',
      `${where}: ${yamlErr.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  const s: GatewaySettings = {};
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return s;
  for (const [key, keyNode, v] of entries(ctx, doc.contents as Node, 'the config file', TOP_KEYS)) {
    switch (key) {
      case 'listen':
        s.listen = list(ctx, v, 'listen').map((n) =>
          ctx.wrap(n, () => parseEndpoint(str(ctx, n, 'listen'), 'listen', 'listen')),
        );
        break;
      case 'upstream':
        s.upstream = ctx.wrap(v, () =>
          parseEndpoint(str(ctx, v, 'upstream'), 'upstream', 'upstream'),
        );
        break;
      case 'metricsListen':
      case 'liveListen':
        s[key] = ctx.wrap(v, () => parseEndpoint(str(ctx, v, key), 'metrics', key));
        break;
      case 'preset':
        s.presets = list(ctx, v, 'preset').map((n) => {
          const p = str(ctx, n, 'preset');
          if (!(PRESET_NAMES as readonly string[]).includes(p)) {
            ctx.fail(n, `unknown preset '${p}' (use ${PRESET_NAMES.join(', ')})`);
          }
          return p;
        });
        break;
      case 'allow':
      case 'deny':
        s.rules = [...(s.rules ?? []), ...rules(ctx, v, key)];
        break;
      case 'blocks':
        s.blocks = list(ctx, v, 'blocks').map((b): RuleBlock => {
          const block: RuleBlock = { when: {}, rules: [] };
          let hasWhen = false;
          for (const [bk, bkNode, bv] of entries(ctx, b, 'a block', [
            'when',
            'allow',
            'deny',
            'body',
            'scope',
          ])) {
            if (bk === 'body') block.body = bodyRules(ctx, bkNode, bv);
            else if (bk === 'scope') {
              block.scope = scopeValue(ctx, bv);
              block.scopeSource = ctx.line(bkNode);
            } else if (bk === 'when') {
              block.when = matcher(ctx, bv);
              hasWhen = Object.keys(block.when).length > 0;
            } else block.rules.push(...rules(ctx, bv, bk as RuleEffect));
          }
          if (!hasWhen)
            ctx.fail(b, "a block needs a non-empty 'when' (put rules for everybody in allow/deny)");
          return block;
        });
        break;
      case 'auth':
        for (const [ak, , av] of entries(ctx, v, 'auth', [
          'tokenFile',
          'allowCidr',
          'allowUid',
          'allowGid',
          'allowSubject',
          'allowFingerprint',
        ])) {
          if (ak === 'tokenFile') s.tokenFiles = strList(ctx, av, ak).map((p) => ctx.path(p));
          else if (ak === 'allowUid' || ak === 'allowGid') {
            s[ak] = strList(ctx, av, ak).map((x) => ctx.wrap(av, () => parseId(x, ak)));
          } else if (ak === 'allowCidr') {
            s.allowCidr = list(ctx, av, ak).map((n) => {
              const c = str(ctx, n, ak);
              ctx.wrap(n, () => parseCidr(c));
              return c;
            });
          } else s[ak as 'allowSubject' | 'allowFingerprint'] = strList(ctx, av, ak);
        }
        break;
      case 'tls':
      case 'upstreamTls':
        s[key] = tlsFiles(ctx, v, key);
        break;
      case 'timeouts':
        s.timeouts = {};
        for (const [tk, , tv] of entries(ctx, v, 'timeouts', [
          'connect',
          'head',
          'idle',
          'stream',
          'body',
          'queue',
        ])) {
          const raw = isScalar(tv) ? (tv.value as string | number) : str(ctx, tv, tk);
          s.timeouts[tk as 'connect'] = ctx.wrap(tv, () => parseDuration(raw, `timeouts.${tk}`));
        }
        break;
      case 'limits':
        s.limits = {};
        for (const [lk, , lv] of entries(ctx, v, 'limits', [
          'connections',
          'connectionsPerIdentity',
          'streams',
          'streamsPerIdentity',
          'maxBody',
        ])) {
          const raw = isScalar(lv) ? (lv.value as string | number) : str(ctx, lv, lk);
          s.limits[lk as 'streams'] = ctx.wrap(lv, () =>
            lk === 'maxBody' ? parseSize(raw, 'limits.maxBody') : parseCount(raw, `limits.${lk}`),
          );
        }
        break;
      case 'forwardProxy':
        for (const [fk, , fv] of entries(ctx, v, 'forwardProxy', ['enabled', 'connectAllow'])) {
          if (fk === 'enabled') {
            s.forwardProxy = ctx.wrap(fv, () =>
              parseBool(isScalar(fv) ? (fv.value as string) : '', 'enabled'),
            );
          } else s.connectAllow = strList(ctx, fv, fk);
        }
        break;
      case 'logLevel':
        s.logLevel = ctx.wrap(v, () => parseLogLevel(str(ctx, v, key)));
        break;
      case 'logStreamInterval': {
        const raw = isScalar(v) ? (v.value as string | number) : str(ctx, v, key);
        s.logStreamInterval = ctx.wrap(v, () => parseDuration(raw, key));
        break;
      }
      case 'allowBindRoot':
        s.allowBindRoot = list(ctx, v, key).map((n) => {
          const p = str(ctx, n, key);
          if (!p.startsWith('/')) ctx.fail(n, `allowBindRoot '${p}' is not an absolute path`);
          return p;
        });
        break;
      case 'allowImage':
        s.allowImage = strList(ctx, v, key);
        break;
      case 'body':
        s.body = bodyRules(ctx, keyNode, v);
        break;
      case 'scope':
        s.scope = scopeValue(ctx, v);
        s.scopeSource = ctx.line(keyNode);
        break;
      case 'maxTargetLength': {
        const n = isScalar(v) ? Number(v.value) : NaN;
        if (!Number.isInteger(n) || n < 64 || n > 65536)
          ctx.fail(v, 'maxTargetLength must be an integer from 64 to 65536');
        s.maxTargetLength = n;
        break;
      }
      default:
        ctx.fail(keyNode, `unknown key '${key}'`);
    }
  }
  return s;
}

/** Read and parse a config file; ERR_CONFIG when it cannot be read or is invalid. */
export function loadConfigFile(path: string): GatewaySettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HijackError(
      'ERR_CONFIG',
      `cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
  return { ...parseConfigText(text, path, dirname(resolve(path))), configFile: resolve(path) };
}
