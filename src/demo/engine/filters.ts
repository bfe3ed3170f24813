/**
 * Docker's `filters` query parameter: JSON `{"name": {"c1": true}}` (or the older
 * `{"name": ["c1"]}`), keys checked against what the endpoint accepts.
 *
 * @module
 */

/** Filter values by key. */
export type Filters = Map<string, string[]>;

/**
 * Parses `filters`; throws Error `invalid filter 'x'` for a key outside `allowed`
 * (dockerd's message) and for JSON that is not a filter object.
 */
export function parseFilters(text: string | null, allowed: readonly string[]): Filters {
  const out: Filters = new Map();
  if (text === null || text === '') return out;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`invalid filter: ${text}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`invalid filter: ${text}`);
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (!allowed.includes(key)) throw new Error(`invalid filter '${key}'`);
    let values: string[];
    if (Array.isArray(v)) values = v.map(String);
    else if (v !== null && typeof v === 'object')
      values = Object.entries(v as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([k]) => k);
    else throw new Error(`invalid filter: ${text}`);
    if (values.length) out.set(key, values);
  }
  return out;
}
