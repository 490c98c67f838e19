/** Which requests the gateway answers in parts, and how it reads a query's `@defer`s before planning. */
import { describe, expect, it } from 'vitest';
import {
  buildSchema,
  Kind,
  parse,
  print,
  validate,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';
import { deferLabelsRule, isDeferredQuery } from '../src/defer.js';
import { resolveDefers } from '../src/deferredExecution.js';

const QUERY = parse('query { profile(username: "a") { ... @defer { bio } } }')
  .definitions[0] as OperationDefinitionNode;
const MUTATION = parse('mutation { joinThreads { ... @defer { bio } } }').definitions[0] as OperationDefinitionNode;
const SOURCE = 'query { profile(username: "a") { ... @defer { bio } } }';

/** `source`'s operation with its `@defer`s resolved, or null when resolveDefers refuses it. */
function resolve(source: string, variables: Record<string, unknown> = {}) {
  const document = parse(source);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const fragments = Object.fromEntries(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  return resolveDefers(operation, fragments, variables);
}

/** The operation and fragments of `source`, with its `@defer`s resolved, printed on one line. */
function resolved(source: string, variables: Record<string, unknown> = {}) {
  const result = resolve(source, variables);
  if (!result) throw new Error('resolveDefers refused the operation');
  return { text: print(result.operation).replace(/\s+/g, ' '), labels: Object.fromEntries(result.labels) };
}

/** A query deferring a fragment that spreads the next one `width` times, `depth` fragments deep. */
function fragmentBomb(width: number, depth: number): string {
  const fragments = Array.from({ length: depth }, (_, level) =>
    level === depth - 1
      ? `fragment F${level} on Query { __typename }`
      : `fragment F${level} on Query { ${`...F${level + 1} `.repeat(width)}}`,
  );
  return `query Bomb { ...F0 @defer } ${fragments.join(' ')}`;
}

describe('isDeferredQuery', () => {
  it('should pick a query with @defer from a client that prefers the 2022-08-24 multipart format', () => {
    for (const accept of [
      'multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9',
      'multipart/mixed; deferSpec="20220824"',
      'multipart/mixed;deferSpec=20220824',
    ]) {
      expect(isDeferredQuery(SOURCE, QUERY, accept), accept).toBe(true);
    }
  });

  it('should leave to the gateway what it does not answer in parts', () => {
    const accept = 'multipart/mixed;deferSpec=20220824';
    expect(isDeferredQuery(SOURCE, QUERY, 'application/json')).toBe(false);
    expect(isDeferredQuery(SOURCE, QUERY, undefined)).toBe(false);
    expect(isDeferredQuery(SOURCE, QUERY, 'multipart/mixed')).toBe(false);
    expect(isDeferredQuery(SOURCE, QUERY, 'multipart/mixed; incrementalSpec=v0.2')).toBe(false);
    expect(isDeferredQuery('query { profile(username: "a") { bio } }', QUERY, accept)).toBe(false);
    expect(isDeferredQuery(SOURCE, MUTATION, accept)).toBe(false);
  });
});

describe('resolveDefers', () => {
  it('should refuse to inline fragments that spread each other into more selections than it splits', () => {
    // 20 × 20 × 20 × 20 = 160,000 copies of the last fragment once inlined, from a few hundred bytes.
    expect(resolve(fragmentBomb(20, 5))).toBeNull();
    expect(resolve(fragmentBomb(2, 5))).not.toBeNull();
  });

  it('should give each active @defer a label of its own and keep the client labels beside them', () => {
    const { text, labels } = resolved(
      '{ a: profile(username: "a") { ... @defer(label: "x") { bio } ... @defer { id } } }',
    );
    expect(text).toBe(
      '{ a: profile(username: "a") { ... @defer(label: "d0") { bio } ... @defer(label: "d1") { id } } }',
    );
    expect(labels).toEqual({ d0: 'x', d1: undefined });
  });

  it('should execute inline a fragment whose @defer is off, by literal or by variable, and keep its other directives', () => {
    const { text, labels } = resolved(
      'query($on: Boolean!) { profile(username: "a") { ... @defer(if: false) { bio } ... @include(if: true) @defer(if: $on) { id } } }',
      { on: false },
    );
    expect(text).toBe('query ($on: Boolean!) { profile(username: "a") { ... { bio } ... @include(if: true) { id } } }');
    expect(labels).toEqual({});
  });

  it('should inline named fragments, deferred ones included, with their type conditions', () => {
    const { text, labels } = resolved(
      'query { profile(username: "a") { ...Head ...Rest @defer(label: "rest") } } fragment Head on Profile { username } fragment Rest on Profile { ...Head bio }',
    );
    expect(text).toBe(
      '{ profile(username: "a") { ... on Profile { username } ... on Profile @defer(label: "d0") { ... on Profile { username } bio } } }',
    );
    expect(labels).toEqual({ d0: 'rest' });
  });
});

describe('deferLabelsRule', () => {
  const schema = buildSchema(`
    directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT
    type Query { a: String b: String }
  `);
  const messages = (source: string) => validate(schema, parse(source), [deferLabelsRule]).map((e) => e.message);

  it('should accept distinct literal labels, and @defer without one', () => {
    expect(messages('{ ... @defer(label: "x") { a } ... @defer(label: "y") { b } ... @defer { a } }')).toEqual([]);
  });

  it('should refuse a label used twice, and a label from a variable', () => {
    expect(messages('{ ... @defer(label: "x") { a } ... @defer(label: "x") { b } }')).toEqual([
      'Another @defer has the label "x" already: labels must be unique.',
    ]);
    expect(messages('query($l: String) { ... @defer(label: $l) { a } }')).toEqual([
      'The label of @defer must be a string literal, got $l.',
    ]);
  });
});
