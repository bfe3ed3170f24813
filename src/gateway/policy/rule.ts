/**
 * Rule parsing and matching: `METHOD[,METHOD…]|* PATH[?QUERY]`, with `{name}` placeholders
 * for one segment and a final `**` for the rest. A segment is what dockerd's router
 * binds: on a route whose variable is `{name:.*}`, a placeholder there matches the whole
 * binding, slashes included (see docker-routes.ts).
 *
 * @module
 */
import { HijackError } from '../../errors.js';
import type { QueryConstraint, Rule, RuleEffect } from '../types.js';
import { dockerBoolValue } from './go-text.js';

const METHOD = /^[A-Z][A-Z0-9_-]*$/;
const PLACEHOLDER = /^\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,=:@]+$/;
const PARAM_NAME = /^[A-Za-z0-9_.\-[\]]+$/;
const VERSION_LIKE = /^v[0-9.]+$/;

/** A compiled path pattern segment. */
export type PatternSegment =
  { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'rest' };

function bad(text: string, source: string, what: string): HijackError {
  return new HijackError('ERR_CONFIG', `rule '${text}' ${what}`, { rule: text, source });
}

/**
 * Parse one rule text into a {@link Rule}, or throw HijackError ERR_CONFIG whose message
 * reads "rule '<text>' <problem>" (the caller prefixes where it came from).
 */
export function parseRule(text: string, effect: RuleEffect, source: string): Rule {
  if (typeof text !== 'string')
    throw new HijackError('ERR_CONFIG', `a rule must be a string like 'GET /containers/json'`);
  const trimmed = text.trim();
  const m = /^(\S+)\s+(\S+)$/.exec(trimmed);
  if (!m) {
    throw bad(
      trimmed,
      source,
      "is not 'METHOD PATH' (e.g. 'GET /containers/json' or 'GET,HEAD /images/**')",
    );
  }
  const [, methodText, target] = m as unknown as [string, string, string];
  let methods: '*' | string[];
  if (methodText === '*') methods = '*';
  else {
    methods = [];
    for (const raw of methodText.split(',')) {
      const meth = raw.toUpperCase();
      if (!METHOD.test(meth))
        throw bad(trimmed, source, `has an invalid method '${raw}' (use e.g. GET, POST or *)`);
      if (!methods.includes(meth)) methods.push(meth);
    }
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  compilePattern(path, trimmed, source);
  const query = q < 0 ? [] : parseQueryConstraints(target.slice(q + 1), trimmed, source);
  return { effect, methods, path, query, text: trimmed, source };
}

/** Compile a rule path into segments, throwing ERR_CONFIG with the rule text on a bad one. */
export function compilePattern(path: string, text = path, source = ''): PatternSegment[] {
  if (!path.startsWith('/')) throw bad(text, source, 'has a path that does not start with /');
  if (path === '/') return [];
  const parts = path.slice(1).split('/');
  const out: PatternSegment[] = [];
  parts.forEach((seg, i) => {
    if (seg.includes('{') && !seg.includes('}'))
      throw bad(text, source, 'has an unclosed placeholder');
    if (seg === '') throw bad(text, source, 'has an empty path segment (// or a trailing /)');
    if (seg === '.' || seg === '..') throw bad(text, source, 'has a dot segment');
    if (i === 0 && VERSION_LIKE.test(seg)) {
      throw bad(
        text,
        source,
        'starts with an API version; write it without /vX.Y (the prefix is folded before matching)',
      );
    }
    if (seg === '**') {
      if (i !== parts.length - 1)
        throw bad(text, source, "has '**' before the end (it may only be the last segment)");
      out.push({ kind: 'rest' });
    } else if (PLACEHOLDER.test(seg)) {
      out.push({ kind: 'param', name: seg.slice(1, -1) });
    } else if (seg.includes('{') || seg.includes('}')) {
      throw bad(
        text,
        source,
        `has a malformed placeholder '${seg}' (a placeholder is a whole segment like {id})`,
      );
    } else if (seg.includes('*')) {
      throw bad(
        text,
        source,
        `has '*' inside the segment '${seg}' (use {name} for one segment or a final **)`,
      );
    } else if (seg.includes('%')) {
      throw bad(text, source, `has a percent-escape in '${seg}'; write paths decoded`);
    } else if (!LITERAL.test(seg)) {
      throw bad(text, source, `has an invalid character in the segment '${seg}'`);
    } else {
      out.push({ kind: 'literal', value: seg });
    }
  });
  return out;
}

function parseQueryConstraints(text: string, rule: string, source: string): QueryConstraint[] {
  if (text === '') throw bad(rule, source, "has an empty query after '?'");
  const out: QueryConstraint[] = [];
  for (const part of text.split('&')) {
    let m: RegExpExecArray | null;
    if ((m = /^!([^=!]+)$/.exec(part)))
      out.push({ kind: 'flag-unset', name: checkName(m[1]!, rule, source) });
    else if ((m = /^([^=!]+)!=(.+)$/.exec(part)))
      out.push({ kind: 'not-in', name: checkName(m[1]!, rule, source), values: m[2]!.split('|') });
    else if ((m = /^([^=!]+)=(.+)$/.exec(part)))
      out.push({ kind: 'in', name: checkName(m[1]!, rule, source), values: m[2]!.split('|') });
    else if ((m = /^([^=!]+)$/.exec(part)))
      out.push({ kind: 'flag-set', name: checkName(m[1]!, rule, source) });
    else
      throw bad(
        rule,
        source,
        `has a query constraint '${part}' that is not name, !name, name=a|b or name!=a|b`,
      );
  }
  return out;
}

function checkName(name: string, rule: string, source: string): string {
  if (!PARAM_NAME.test(name))
    throw bad(rule, source, `has an invalid query parameter name '${name}'`);
  return name;
}

/**
 * True when dockerd reads `value` as a true boolean: its `httputils.BoolValue` (Go's
 * white space, not JavaScript's; false for '', 0, no, false, none).
 */
export const dockerTrue: (value: string) => boolean = dockerBoolValue;

/** True when the decoded query parameters satisfy every constraint. */
export function matchQuery(constraints: QueryConstraint[], params: Map<string, string[]>): boolean {
  for (const c of constraints) {
    const values = params.get(c.name) ?? [];
    switch (c.kind) {
      case 'flag-set':
        if (!values.some(dockerTrue)) return false;
        break;
      case 'flag-unset':
        if (values.some(dockerTrue)) return false;
        break;
      case 'in':
        if (values.length === 0 || !values.every((v) => c.values.includes(v))) return false;
        break;
      case 'not-in':
        if (values.some((v) => c.values.includes(v))) return false;
        break;
    }
  }
  return true;
}

/** True when the path segments match the compiled pattern. */
export function matchPattern(pattern: PatternSegment[], segments: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.kind === 'rest') return true;
    const s = segments[i];
    if (s === undefined) return false;
    if (p.kind === 'literal' && p.value !== s) return false;
  }
  return segments.length === pattern.length;
}

/** True when the rule names the method (or is `*`). */
export function matchMethod(rule: Rule, method: string): boolean {
  return rule.methods === '*' || rule.methods.includes(method);
}
