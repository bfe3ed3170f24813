/**
 * Parsing of single config values: durations, sizes, log levels, ids (endpoints:
 * src/endpoint/parse.ts, re-exported here).
 *
 * @module
 */
import { HijackError } from '../../errors.js';
import type { LogLevel } from '../types.js';

export { parseEndpoint, type EndpointRole } from '../../endpoint/parse.js';

/** The log levels, quietest last. */
export const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function fail(what: string): never {
  throw new HijackError('ERR_CONFIG', what);
}

/**
 * Parse a duration (`30s`, `5m`, `1h30m`, `250ms`, `0` = off) into milliseconds; throws
 * ERR_CONFIG naming the value when it has no unit or is malformed.
 */
export function parseDuration(text: string | number, name = 'duration'): number {
  if (typeof text === 'number') {
    if (text === 0) return 0;
    fail(`${name} ${text}: add a unit (e.g. 30s, 5m, 250ms; 0 turns it off)`);
  }
  const s = String(text).trim();
  if (s === '0') return 0;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s)) {
    fail(`${name} '${s}' is not a duration (use e.g. 30s, 5m, 1h30m, 250ms; 0 turns it off)`);
  }
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (!Number.isFinite(ms) || ms > 2_147_483_647) fail(`${name} '${s}' is longer than 24 days`);
  return Math.round(ms);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parse a size in bytes (`1048576`, `64KiB`, `16MiB`, `1GiB`, `10MB`; `0` = off); throws
 * ERR_CONFIG naming the value when it is malformed.
 */
export function parseSize(text: string | number, name = 'size'): number {
  const s = String(text).trim().toLowerCase();
  const m = /^(\d+)\s*([a-z]*)$/.exec(s);
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined)
    fail(`${name} '${text}' is not a size (use e.g. 1048576, 64KiB, 16MiB, 1GiB; 0 turns it off)`);
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) fail(`${name} '${text}' is too large`);
  return n;
}

/** Parse a count (`0` = off); throws ERR_CONFIG naming the value when it is not a whole number. */
export function parseCount(text: string | number, name = 'count'): number {
  const s = String(text).trim();
  if (!/^\d{1,9}$/.test(s)) fail(`${name} '${text}' is not a whole number (0 turns it off)`);
  return Number(s);
}

/** Parse a log level; throws ERR_CONFIG listing the accepted ones. */
export function parseLogLevel(text: string, name = 'log level'): LogLevel {
  const v = String(text).trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(v))
    fail(`${name} '${text}' is not one of ${LOG_LEVELS.join(', ')}`);
  return v as LogLevel;
}

/** Parse a uid/gid (0 to 2^32-2); throws ERR_CONFIG. */
export function parseId(text: string | number, name: string): number {
  const s = String(text).trim();
  if (!/^\d{1,10}$/.test(s) || Number(s) > 4294967294)
    fail(`${name} '${text}' is not a numeric uid/gid`);
  return Number(s);
}

/** Parse a boolean flag value (1/0, true/false, yes/no, on/off); throws ERR_CONFIG. */
export function parseBool(text: string | boolean, name: string): boolean {
  if (typeof text === 'boolean') return text;
  const v = String(text).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  fail(`${name} '${text}' is not a boolean (use 1 or 0)`);
}
