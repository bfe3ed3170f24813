/**
 * A dry run of admission: would the gateway with these options let this raw HTTP/1 request
 * through, and why. The request is parsed by Node's own HTTP parser (as the gateway's
 * listeners parse it, same head size limit), decided by {@link admit} with the context the
 * gateway builds ({@link createAdmitContext}), and its body, when the body rules read it,
 * by {@link admitBody}: the very code a live gateway runs, without an upstream.
 *
 * Under scope owner the plan is the gateway's own ({@link ownerPlan} in admission,
 * {@link planBody} on the body): the owner label refused or added, the list filter merged,
 * the path pinned. What only the daemon can answer (who owns `abc`) is said as a condition:
 * `allowed if dev owns container "abc"`, with the answer the gateway gives otherwise.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Duplex } from 'node:stream';
import { HijackError } from '../errors.js';
import { admit } from './admit.js';
import { admitBody } from './policy/body-check.js';
import {
  notFound,
  ownerName,
  notOwnedInBody,
  OWNER_LABEL,
  planBody,
  type BodyRef,
  type OwnedKind,
  type OwnerPlan,
} from './policy/owner.js';
import type { ScopeOf } from './policy/policy.js';
import { createAdmitContext } from './server.js';
import type { ClientIdentity, ConnectionFacts, GatewayOptions } from './types.js';

/** Who the dry run's client is: facts of its connection and, maybe, the token it presents. */
export interface DryRunIdentity {
  facts: ConnectionFacts;
  /** A token name of the configured token files: the request is sent as that token's holder. */
  token?: string;
}

/** The outcome of {@link dryRun}. */
export interface DryRunResult {
  allowed: boolean;
  /** 200 when allowed, else the status the gateway would answer. */
  status: number;
  /** The refusal message (the gateway's, without its `hijack gateway: ` prefix), or the rule. */
  message: string;
  /** The route rule that allowed the request (`allow POST /containers/create from preset sandbox`). */
  rule?: string;
  /** Where the body rules that passed come from, when the body or the query was checked. */
  bodyRules?: string;
  identity?: ClientIdentity;
  /** The identity's scope and where it comes from; `owner` is its label value under scope owner. */
  scope?: ScopeOf & { owner?: string };
  /**
   * Under scope owner, what ownership does with the request, one line each: the conditions
   * only the daemon can decide (`allowed if dev owns container "abc"; else 404 …`) and the
   * rewrites (owner label added, filters merged, path pinned).
   */
  ownership?: string[];
}

/**
 * Parses `--identity`: a token name, `uid:N[:GID]` (a unix peer), `ip:ADDRESS` (a TCP
 * client) or `cn:SUBJECT` (a TLS client whose certificate verified). Without one, the client
 * is a TCP client from 127.0.0.1. Throws ERR_USAGE for an unknown token name.
 */
export function parseDryRunIdentity(
  spec: string | undefined,
  options: Pick<GatewayOptions, 'auth'>,
): DryRunIdentity {
  const local: ConnectionFacts = { transport: 'tcp', address: '127.0.0.1', port: 40000 };
  if (spec === undefined) return { facts: local };
  const m = /^(uid|ip|cn):(.*)$/s.exec(spec);
  if (m?.[1] === 'uid') {
    const [uid, gid = uid] = m[2]!.split(':');
    const ok = (x: string | undefined) => x !== undefined && /^[0-9]{1,10}$/.test(x);
    if (!ok(uid) || !ok(gid)) {
      throw new HijackError('ERR_USAGE', `--identity '${spec}': use uid:N or uid:N:GID`);
    }
    return { facts: { transport: 'unix', peer: { pid: 0, uid: Number(uid), gid: Number(gid) } } };
  }
  if (m?.[1] === 'ip') return { facts: { ...local, address: m[2]! } };
  if (m?.[1] === 'cn') {
    return {
      facts: {
        transport: 'tls',
        address: '127.0.0.1',
        port: 40000,
        cert: { subject: m[2]!, fingerprint256: '', authorized: true },
      },
    };
  }
  const names = options.auth.tokens.map((t) => t.name);
  if (!names.includes(spec)) {
    const known = names.length
      ? `the token files name ${names.join(', ')}`
      : 'no token file is given';
    throw new HijackError(
      'ERR_USAGE',
      `--identity '${spec}' is not a token name (${known}); or use uid:N, ip:ADDRESS, cn:SUBJECT`,
    );
  }
  return { facts: local, token: spec };
}

/** A request as Node parsed it, with its whole body. */
interface Parsed {
  req: http.IncomingMessage;
  body: Buffer;
}

/** Parses one raw request with Node's HTTP parser; rejects with the parser's error code. */
function parseRaw(raw: Buffer, maxHeaderSize: number, maxHeadersCount: number): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const server = http.createServer({ maxHeaderSize });
    server.maxHeadersCount = maxHeadersCount + 1;
    let sent = false;
    const socket = new Duplex({
      read() {
        if (sent) return;
        sent = true;
        this.push(raw);
        this.push(null);
      },
      write(_chunk, _enc, cb) {
        cb();
      },
    });
    const take = (req: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => resolve({ req, body: Buffer.concat(chunks) }));
      req.once('error', reject);
      req.once('aborted', () => reject(new Error('the request body ends before its framing says')));
    };
    server.on('request', take);
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeContinue();
      take(req);
    });
    server.on('connect', (req: http.IncomingMessage) => resolve({ req, body: Buffer.alloc(0) }));
    server.on('upgrade', (req: http.IncomingMessage) => take(req));
    server.on('clientError', (err: NodeJS.ErrnoException) => {
      let hint = '';
      const end = raw.indexOf('\r\n\r\n');
      const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
      if (/(^|[^\r])\n/.test(head)) hint = ': its head has bare LF line ends, HTTP/1 needs CRLF';
      else if (err.code === 'HPE_INVALID_EOF_STATE') hint = ': the file ends before its body does';
      reject(new Error(`the request cannot be parsed (${err.code ?? err.message})${hint}`));
    });
    socket.once('end', () => {
      // No complete request in the file: the parser saw the end first.
      setImmediate(() => reject(new Error('the file holds no complete HTTP/1 request')));
    });
    server.emit('connection', socket);
  });
}

/** Replaces the Authorization fields of a raw header list with one bearer token. */
function withBearer(rawHeaders: string[], secret: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'authorization')
      out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  out.push('Authorization', `Bearer ${secret}`);
  return out;
}

const strip = (m: string) => m.replace(/^hijack gateway: /, '');

const KIND_NAMES: Readonly<Record<OwnedKind, string>> = {
  container: 'container',
  exec: 'exec instance',
  volume: 'volume',
  network: 'network',
};

/** What the gateway's path step (`checkPathRefs`, forward/owner-lookup.ts) does with a plan, as lines. */
function describePathStep(
  plan: OwnerPlan,
  route: string | undefined,
  apiVersion: string | undefined,
): string[] {
  const out: string[] = [];
  const o = plan.owner;
  for (const r of plan.refs) {
    const what = `${KIND_NAMES[r.kind]} ${JSON.stringify(r.ref)}`;
    const nf = notFound(r.kind, r.ref, r.answer, route, apiVersion);
    if (r.answer === 'taken') {
      out.push(
        `refused (${nf.status}) if a container named ${JSON.stringify(r.ref)} exists and is not ${o}'s`,
      );
    } else {
      const by = r.answer === 'list-filter' ? ' (named by a before/since filter)' : '';
      out.push(
        `allowed if ${o} owns ${what}${by}; else ${nf.status} ${strip(nf.message)}, as dockerd answers for a missing one`,
      );
    }
  }
  const pinned = plan.refs.find((r) => r.answer === 'missing');
  if (plan.pin && pinned) {
    out.push(
      `forwarded as ${plan.pin.before}<full id of ${pinned.ref}>${plan.pin.after}, pinned to the object whose owner was checked`,
    );
  }
  if (plan.target !== undefined) {
    out.push(
      `forwarded as ${plan.target}: label=${OWNER_LABEL}=${o} merged into filters, so only ${o}'s objects are listed`,
    );
  }
  return out;
}

/** What the gateway's body step (`checkOwnedBody`, forward/owner-lookup.ts) does after {@link planBody}, as lines. */
function describeBodyStep(plan: OwnerPlan, refs: BodyRef[], path: string): string[] {
  const o = plan.owner;
  const out: string[] = [];
  if (plan.body!.kind !== 'network-connect') {
    out.push(`the body is forwarded with the label ${OWNER_LABEL}=${o} added to its Labels`);
  }
  for (const r of refs) {
    const what = `${KIND_NAMES[r.kind]} ${JSON.stringify(r.byName ? `/${r.ref}` : r.ref)} (${r.field})`;
    if (r.ifExists) {
      out.push(`refused (403) if ${what} exists and is not ${o}'s`);
      continue;
    }
    const pin = r.pin
      ? `; ${r.field} is then forwarded as the full id of ${JSON.stringify(r.ref)}`
      : '';
    out.push(
      `allowed if ${o} owns ${what}; else 403 ${strip(notOwnedInBody(r, path).message)}${pin}`,
    );
  }
  return out;
}

/**
 * Decides `raw` (a request head and its body, as a client sends them) as a gateway with
 * `options` would, for the client `who`. Never contacts an upstream.
 */
export async function dryRun(
  options: GatewayOptions,
  raw: Buffer,
  who: DryRunIdentity = parseDryRunIdentity(undefined, options),
): Promise<DryRunResult> {
  let auth = options.auth;
  let secret: string | undefined;
  if (who.token !== undefined) {
    // The token's holder, without its secret: a one-time secret stands for it.
    secret = randomBytes(24).toString('hex');
    const sha256 = createHash('sha256').update(secret).digest();
    auth = {
      ...auth,
      tokens: auth.tokens.map((t) => (t.name === who.token ? { ...t, sha256 } : t)),
    };
  }
  const ctx = createAdmitContext({ ...options, auth });
  let parsed: Parsed;
  try {
    parsed = await parseRaw(raw, 16 * 1024, ctx.maxHeadersCount);
  } catch (err) {
    return { allowed: false, status: 400, message: (err as Error).message };
  }
  const { req, body } = parsed;
  const rawHeaders = secret === undefined ? req.rawHeaders : withBearer(req.rawHeaders, secret);
  const headers: Record<string, string | string[] | undefined> = { ...req.headers };
  if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
  const a = admit(
    {
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      httpVersionMajor: req.httpVersionMajor,
      rawHeaders,
      headers,
    },
    who.facts,
    ctx,
  );
  const scopeOf = (identity: ClientIdentity): DryRunResult['scope'] => {
    const s = ctx.policy.scopeOf(identity);
    return s.scope === 'owner' ? { ...s, owner: ownerName(identity) } : s;
  };
  if (a.action === 'deny') {
    return {
      allowed: false,
      status: a.status,
      message: strip(a.message),
      ...(a.identity ? { identity: a.identity, scope: scopeOf(a.identity) } : {}),
    };
  }
  const rule = `${a.decision.rule.effect} ${a.decision.rule.text}${a.decision.rule.source ? ` from ${a.decision.rule.source}` : ''}`;
  const out: DryRunResult = {
    allowed: true,
    status: 200,
    message: rule,
    rule,
    identity: a.identity,
    scope: scopeOf(a.identity),
  };
  const refused = (r: { status: number; message: string }): DryRunResult => ({
    allowed: false,
    status: r.status,
    message: strip(r.message),
    identity: a.identity,
    scope: out.scope!,
  });
  const rules = ctx.policy.bodyRules(a.identity);
  if (a.bodyLimit !== undefined && body.length > a.bodyLimit) {
    // The forwarder reads at most this much of a body it must read whole.
    const m = `the request body is over the ${a.bodyLimit} bytes the policy reads`;
    return refused({ status: 413, message: m });
  }
  if (a.body) {
    const refusal = admitBody(a.body, body, a.decision.path);
    if (refusal) return refused(refusal);
    out.bodyRules = a.body.rules.source;
  } else if (rules && a.decision.route === 'POST /build') out.bodyRules = rules.source;
  const plan = a.owner;
  if (plan) {
    const lines = describePathStep(plan, a.decision.route, a.decision.apiVersion);
    if (plan.body) {
      const read = planBody(plan, body, a.decision.path);
      if (!read.ok) return refused(read.refusal);
      lines.push(...describeBodyStep(plan, read.refs, a.decision.path));
    }
    out.ownership = lines.length
      ? lines
      : ['nothing to check: the request names no container, exec, volume or network of anyone'];
  }
  return out;
}
