/**
 * Small HTTP helpers for the demo engine: Docker's JSON error shape, request bodies with a
 * size limit, the `/vX.Y` prefix, the upgrade check, and {@link Call} (one request as a
 * handler sees it).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** One request as a handler sees it. */
export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  /** Values of the `{name}` segments of the route's path, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version asked for (`/v1.41/…`), or the engine's own without a prefix. */
  version: string;
  method: string;
}

/** An error that becomes an HTTP answer `{"message": …}` with `status`, like dockerd's. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Largest JSON request body the engine reads. */
export const MAX_BODY = 1024 * 1024;

/** Reads the request body (at most MAX_BODY bytes) and parses it as JSON; empty is `{}`. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, `request body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `invalid JSON in request body: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError(400, 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Sends `body` as JSON with `status` and the engine's common headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** True when the request asks for a protocol switch (`Connection: upgrade` + `Upgrade`). */
export function wantsUpgrade(req: IncomingMessage): boolean {
  const conn = String(req.headers.connection ?? '').toLowerCase();
  return (
    typeof req.headers.upgrade === 'string' &&
    req.headers.upgrade !== '' &&
    conn.split(',').some((t) => t.trim() === 'upgrade')
  );
}

/** Compares two `major.minor` API versions: negative, 0, positive. */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/** Splits `/v1.41/containers/json` into version `1.41` and path `/containers/json`. */
export function splitVersion(path: string): { version: string | null; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  return m ? { version: m[1]!, path: m[2]! } : { version: null, path };
}

/** True for a query flag Docker treats as set: `1`, `true`, `True`. */
export function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && /^(1|true)$/i.test(v);
}
