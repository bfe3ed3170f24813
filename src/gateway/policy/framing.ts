/**
 * Request-framing checks against smuggling: whatever Node's parser let through but a
 * second HTTP reader (the upstream) might frame differently.
 *
 * @module
 */
import type { DenyDecision, FramingRequest } from '../types.js';
import { deny } from './policy.js';

const CONTENT_LENGTH = /^[0-9]{1,15}$/;

function refuse(why: string): DenyDecision {
  return deny(400, 'bad-framing', `request refused: ${why}`);
}

/**
 * Check a request's framing; returns a 400 refusal, or undefined when the request is fine.
 * Refused: Content-Length together with Transfer-Encoding; more than one Content-Length
 * header (even equal ones) or a list value; a Content-Length that is not plain digits;
 * more than one Transfer-Encoding header or value; any coding other than `chunked`;
 * Transfer-Encoding on HTTP/1.0; CR or LF inside a header value (obsolete line folding);
 * missing or repeated Host on HTTP/1.1; a form-urlencoded body on a method with a body
 * (Go servers merge its fields into the query parameters the policy checked).
 */
export function checkFraming(req: FramingRequest): DenyDecision | undefined {
  const cl: string[] = [];
  const te: string[] = [];
  const host: string[] = [];
  const contentType: string[] = [];
  const raw = req.rawHeaders;
  if (raw.length % 2 !== 0) return refuse('malformed header list');
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (/[\r\n\0]/.test(value) || /[\r\n\0]/.test(name))
      return refuse(`the header ${raw[i]} holds CR, LF or NUL (line folding)`);
    if (/^\s|\s$/.test(name) || name === '')
      return refuse('a header name has white space around it');
    if (name === 'content-length') cl.push(value);
    else if (name === 'transfer-encoding') te.push(value);
    else if (name === 'host') host.push(value);
    else if (name === 'content-type') contentType.push(value);
  }
  if (cl.length && te.length) return refuse('both Content-Length and Transfer-Encoding');
  if (cl.length > 1) return refuse('more than one Content-Length header');
  if (cl.length === 1 && !CONTENT_LENGTH.test(cl[0]!.trim()))
    return refuse(`invalid Content-Length '${cl[0]}'`);
  if (te.length) {
    if (req.httpVersion === '1.0') return refuse('Transfer-Encoding on an HTTP/1.0 request');
    if (te.length > 1) return refuse('more than one Transfer-Encoding header');
    const codings = te[0]!.split(',').map((s) => s.trim().toLowerCase());
    if (codings.length !== 1)
      return refuse(`Transfer-Encoding '${te[0]}' (only a single 'chunked' is accepted)`);
    if (codings[0] !== 'chunked')
      return refuse(`Transfer-Encoding '${te[0]}' (only 'chunked' is accepted)`);
  }
  if (req.httpVersion === '1.1' && host.length === 0) return refuse('no Host header');
  if (host.length > 1) return refuse('more than one Host header');
  const hasBody = te.length > 0 || (cl.length === 1 && Number(cl[0]) > 0);
  const method = req.method.toUpperCase();
  if (
    hasBody &&
    (method === 'POST' || method === 'PUT' || method === 'PATCH') &&
    contentType.some(
      (v) => v.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded',
    )
  ) {
    return refuse(
      'a form-urlencoded body (the upstream would merge it into the checked query parameters)',
    );
  }
  return undefined;
}
