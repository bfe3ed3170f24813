/**
 * The observation listener: the live connections page (`/`, `/live.js`, `/events`,
 * `/connections.json`) and/or Prometheus metrics (`/metrics`) on a listener of their own,
 * never on the gateway's forwarding listener.
 *
 * @module
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { formatHostPort } from '../../endpoint/endpoint.js';
import { listenEndpoint } from '../../endpoint/listen.js';
import { HijackError } from '../../errors.js';
import { connectionFacts } from '../identity/facts.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { ClientIdentity, DenyDecision, Endpoint } from '../types.js';
import type { LiveView } from './live.js';
import type { GatewayMetrics } from './metrics.js';
import { LIVE_HTML, liveScript, refusalHtml } from './page.js';
import { cookieValue, createSessions, SESSION_COOKIE } from './session.js';

/** Options of {@link createObserveServer}. */
export interface ObserveServerOptions {
  /** Where to listen: `{ kind: 'tcp', host: '127.0.0.1', port: 9100 }` or a unix socket. */
  endpoint: Endpoint;
  /** Serve the live page and `/connections.json`. */
  live?: LiveView;
  /** Serve `/metrics`. */
  metrics?: GatewayMetrics;
  /**
   * The gateway's client checks, applied here too: address/uid/gid allowlists, and the
   * bearer token when tokens are configured: header `Authorization: Bearer …`, or for a
   * browser a session cookie (`HttpOnly; SameSite=Strict`) got once by signing in
   * (`POST /login`, the form a browser without credentials is shown) or by opening
   * `/?token=…` (answered with the cookie and a redirect to the address without it).
   */
  auth?: Authenticator;
}

/** A running observation listener. */
export interface ObserveServer {
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:9100/`, `unix:///run/live.sock`). */
  listen(): Promise<string>;
  /** The base URL once listening, else ''. */
  readonly url: string;
  /** The node:http server. */
  readonly server: http.Server;
  /** Ends event streams and stops listening. Idempotent. */
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** The refusal and sign-in page: no script at all, a form that posts to this listener. */
const LOGIN_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  send(res, status, 'application/json', JSON.stringify({ message }) + '\n');
}

/**
 * Creates the listener for the live page and/or metrics (give at least one).
 *
 * ```ts
 * const live = createLiveView(gateway);
 * const srv = createObserveServer({ endpoint: { kind: 'tcp', host: '127.0.0.1', port: 9100 }, live, metrics });
 * console.log(await srv.listen()); // http://127.0.0.1:9100/
 * ```
 */
export function createObserveServer(options: ObserveServerOptions): ObserveServer {
  const { endpoint, live, metrics, auth } = options;
  if (!live && !metrics) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'createObserveServer: give live, metrics or both (nothing to serve)',
    );
  }
  if (endpoint.kind === 'tls') {
    throw new HijackError(
      'ERR_CONFIG',
      'the live page and metrics listen on tcp:// or unix:// (put a TLS proxy in front if needed)',
    );
  }
  const streams = new Set<ServerResponse>();
  let url = '';

  const sessions = createSessions();
  const browser = (req: IncomingMessage) => /\btext\/html\b/.test(req.headers.accept ?? '');
  /** A refusal: a readable page for a browser (with the sign-in form for a 401), JSON otherwise. */
  const refuse = (req: IncomingMessage, res: ServerResponse, d: DenyDecision): void => {
    if (live && browser(req)) {
      for (const [k, v] of Object.entries(d.headers ?? {})) res.setHeader(k, v);
      res.setHeader('Content-Security-Policy', LOGIN_CSP);
      // The gateway's own words name the docker CLI's settings; a browser gets its own.
      const message =
        d.status === 401 && /required/.test(d.message)
          ? 'a bearer token is required to see the live page'
          : d.message.replace(/^hijack gateway: /, '');
      return send(
        res,
        d.status,
        'text/html; charset=utf-8',
        refusalHtml(d.status, message, d.status === 401),
      );
    }
    sendError(res, d.status, d.message, d.headers);
  };
  /**
   * Who may see what: the connection checks for everything; with tokens configured, a
   * session cookie, `Authorization: Bearer`, or `?token=` (which a browser trades for a
   * cookie at once). Returns true once it answered (refused or redirected).
   */
  const gate = (req: IncomingMessage, res: ServerResponse, u: URL): boolean => {
    if (!auth) return false;
    const facts = connectionFacts(req.socket as Socket, endpoint.kind);
    const wall = auth.checkConnection(facts);
    if (wall) {
      refuse(req, res, wall);
      return true;
    }
    // The script and the sign-in form carry no data: the connection check is enough.
    if (!auth.requiresToken || (live && (u.pathname === '/live.js' || u.pathname === '/login')))
      return false;
    if (sessions.check(cookieValue(req.headers.cookie, SESSION_COOKIE)) !== undefined) return false;
    const token = u.searchParams.get('token');
    const headers = { ...req.headers };
    if (token && !headers.authorization) headers.authorization = `Bearer ${token}`;
    const who = auth.identify(facts, headers);
    if ('action' in who) {
      refuse(req, res, who as DenyDecision);
      return true;
    }
    if (token && live && browser(req) && req.method === 'GET') {
      // Trade the token in the address for a session, and take it out of the address.
      u.searchParams.delete('token');
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        'Set-Cookie': sessions.cookie(sessions.create(who.token ?? '')),
        Location: `${u.pathname}${u.search}`,
        'Content-Length': 0,
      });
      res.end();
      return true;
    }
    return false;
  };

  /** `POST /login` (the sign-in form): a valid token gets a session cookie and the page. */
  const login = (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    let size = 0;
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      size += c.length;
      if (size > 8192) {
        req.destroy();
        return;
      }
      body += c;
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      const facts = connectionFacts(req.socket as Socket, endpoint.kind);
      const who = auth
        ? auth.identify(facts, { authorization: `Bearer ${token}` })
        : ({ transport: facts.transport } as ClientIdentity);
      if ('action' in who) return refuse(req, res, who as DenyDecision);
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        'Set-Cookie': sessions.cookie(sessions.create(who.token ?? '')),
        Location: './',
        'Content-Length': 0,
      });
      res.end();
    });
  };

  const server = http.createServer((req, res) => {
    let u: URL;
    try {
      u = new URL(req.url ?? '/', 'http://x');
    } catch {
      return sendError(res, 400, 'bad request target');
    }
    if (gate(req, res, u)) return;
    if (live && u.pathname === '/login' && req.method === 'POST') return login(req, res);
    if (live && u.pathname === '/logout' && req.method === 'POST') {
      sessions.drop(cookieValue(req.headers.cookie, SESSION_COOKIE));
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        'Set-Cookie': sessions.cookie(undefined),
        Location: './',
        'Content-Length': 0,
      });
      return res.end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendError(res, 405, `${req.method} is not served here; use GET`, {
        Allow: 'GET, HEAD',
      });
    }
    const path = u.pathname;
    if (live && path === '/login') {
      // The sign-in form, also for a browser that already has a session (to switch tokens).
      res.setHeader('Content-Security-Policy', LOGIN_CSP);
      return send(
        res,
        auth?.requiresToken ? 401 : 200,
        'text/html; charset=utf-8',
        refusalHtml(401, 'give a bearer token to see the live page', true),
      );
    }
    if (live && (path === '/' || path === '/index.html')) {
      res.setHeader('Content-Security-Policy', CSP);
      return send(res, 200, 'text/html; charset=utf-8', LIVE_HTML);
    }
    if (live && path === '/live.js')
      return send(res, 200, 'text/javascript; charset=utf-8', liveScript());
    if (live && path === '/connections.json') {
      return send(res, 200, 'application/json', JSON.stringify(live.snapshot()) + '\n');
    }
    if (live && path === '/events') {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/event-stream',
        Connection: 'keep-alive',
      });
      if (req.method === 'HEAD') return res.end();
      res.socket?.setNoDelay(true);
      const push = (s: unknown) => res.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
      res.write('retry: 2000\n\n');
      push(live.snapshot());
      streams.add(res);
      const off = live.subscribe(push);
      res.on('close', () => {
        off();
        streams.delete(res);
      });
      return;
    }
    if (metrics && path === '/metrics') {
      metrics.text().then(
        (text) => send(res, 200, metrics.contentType, text),
        (err: Error) => sendError(res, 500, `cannot gather metrics: ${err.message}`),
      );
      return;
    }
    const served = [
      ...(live ? ['/', '/connections.json', '/events'] : []),
      ...(metrics ? ['/metrics'] : []),
    ];
    sendError(res, 404, `not found; this listener serves ${served.join(', ')}`);
  });
  server.keepAliveTimeout = 5000;

  let closing: Promise<void> | undefined;
  return {
    server,
    get url() {
      return url;
    },
    async listen() {
      const a = await listenEndpoint(server, endpoint, 'the live page/metrics');
      url = a.kind === 'unix' ? a.url : `http://${formatHostPort(a.host!, a.port!)}/`;
      return url;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const r of streams) r.end();
        streams.clear();
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 500).unref();
      });
      return closing;
    },
  };
}
