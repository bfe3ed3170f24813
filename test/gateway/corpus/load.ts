/**
 * The adversarial corpus (requests.json): its policies and entries, typed, and the
 * `{{repeat:TEXT:N}}` expansion of raw requests. Shared by corpus-unit and corpus-e2e.
 */
import { readFileSync } from 'node:fs';
import { presetRules } from '../../../src/gateway/config/index.js';
import { hashToken } from '../../../src/gateway/identity/index.js';
import { parseRule } from '../../../src/gateway/policy/index.js';
import type { PolicySpec, RuleBlock, TokenEntry } from '../../../src/gateway/types.js';

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

/** A corpus policy as the gateway takes it: rules, identity blocks and hashed tokens. */
export function policyOf(p: CorpusPolicy): { spec: PolicySpec; tokens: TokenEntry[] } {
  const rules = (allow: string[] = [], deny: string[] = []) => [
    ...allow.map((t) => parseRule(t, 'allow', 'corpus')),
    ...deny.map((t) => parseRule(t, 'deny', 'corpus')),
  ];
  const spec: PolicySpec = {
    rules: [...(p.preset ?? []).flatMap((n) => presetRules(n)), ...rules(p.allow, p.deny)],
    blocks: (p.blocks ?? []).map((b) => ({ when: b.when, rules: rules(b.allow, b.deny) })),
  };
  const tokens = Object.entries(p.tokens ?? {}).map(([name, v]) => ({ name, sha256: hashToken(v) }));
  return { spec, tokens };
}

/**
 * Entries whose expectation the running gateway does not meet, with why. An entry listed here still must not be forwarded when a refusal was expected.
 */
export const KNOWN: Record<string, string> = {
  'method-130':
    "Node's llhttp accepts two spaces after the method; the target forwarded is canonical, so nothing ambiguous reaches the upstream",
  'method-131': "Node's llhttp accepts two spaces before the version; same as method-130",
  'smuggling-215':
    'the policy answers 403 (GET is a known method) where the corpus expects 405; both refuse',
};
