/**
 * Signal names and numbers as `docker kill --signal` sends them (`SIGINT`, `INT`, `2`).
 *
 * @module
 */
import { ApiError } from './http.js';

const NUMBERS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31,
};

/** Signals whose default action is to do nothing (a built-in command keeps running). */
export const IGNORED_SIGNALS = new Set([17, 18, 23, 28]);

/** `SIGINT` / `INT` / `2` → 2; 400 `Invalid signal: X` (dockerd's words) otherwise. */
export function signalNumber(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  }
  const n = NUMBERS[text.toUpperCase().replace(/^SIG/, '')];
  if (n === undefined) throw new ApiError(400, `Invalid signal: ${text}`);
  return n;
}
