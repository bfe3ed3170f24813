/**
 * The adversarial corpus (requests.json): its policies and entries, typed, and the
 * `{{repeat:TEXT:N}}` expansion of raw requests. Shared by corpus-unit and corpus-e2e.
 */
import { readFileSync } from 'node:fs';
import type { RuleBlock } from '../../../src/gateway/types.js';

/** One policy the corpus entries run under. */
export interface CorpusPolicy {
  preset?: string[];
  allow?: string[];
  deny?: string[];
  tokens?: Record<string, string>;
  blocks?: { when: RuleBlock['when']; allow?: string[]; deny?: string[] }[];
}

/** One adversarial request with its expected status. */
export interface CorpusEntry {
  id: string;
  category: string;
  policy: string;
  raw: string;
  status: number | number[];
  note: string;
  /** Which layer refuses it: policy, framing, identity, parser or socket. */
  layer?: string;
  allow?: string;
  /** Expected status of a second request on the same connection. */
  second?: number;
  /** A slow client: bytes per tick, pause, where to stop. */
  slow?: { stopAfterBytes?: number; bytesPerTick?: number; tickMs?: number; headTimeout?: string };
}

export const corpus = JSON.parse(readFileSync(new URL('./requests.json', import.meta.url), 'utf8')) as {
  policies: Record<string, CorpusPolicy>;
  entries: CorpusEntry[];
};

/** Expands `{{repeat:TEXT:N}}` in a raw request. */
export function expand(raw: string): string {
  return raw.replace(/\{\{repeat:([\s\S]*?):(\d+)\}\}/g, (_, t: string, n: string) => t.repeat(Number(n)));
}
