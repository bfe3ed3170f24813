/**
 * The `h`/`w` query of Docker's resize endpoints.
 *
 * @module
 */
import { ApiError } from './http.js';

/** A terminal size. */
export interface TtySize {
  rows: number;
  cols: number;
}

/** Reads `?h=ROWS&w=COLS`; 400 for values that are not numbers (dockerd's check). */
export function ttySize(q: URLSearchParams): TtySize {
  const rows = Number(q.get('h') ?? 0);
  const cols = Number(q.get('w') ?? 0);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new ApiError(400, `invalid resize parameters h=${q.get('h')} w=${q.get('w')}`);
  }
  return { rows, cols };
}
