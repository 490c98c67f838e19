/** Refusing what the gateway will not run as asked, before validation: conditional subscription fields. */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { conditionalSubscriptionField } from '../src/operationResolution.js';

/** A subscription spreading F0, where each fragment spreads the next twice, `depth` fragments deep. */
function fragmentChain(depth: number, last: string): string {
  const fragments = Array.from({ length: depth }, (_, level) =>
    level === depth - 1
      ? `fragment F${level} on Subscription { ${last} }`
      : `fragment F${level} on Subscription { ...F${level + 1} ...F${level + 1} }`,
  );
  return `subscription S { ...F0 } ${fragments.join(' ')}`;
}

describe('conditionalSubscriptionField', () => {
  it('should find a condition on the top-level field, directly or through fragments', () => {
    expect(conditionalSubscriptionField(parse('subscription { a @include(if: true) }'))).not.toBeNull();
    expect(
      conditionalSubscriptionField(parse('subscription { ... on Subscription @skip(if: true) { a } }')),
    ).not.toBeNull();
    expect(conditionalSubscriptionField(parse('subscription { a { b @skip(if: true) } }'))).toBeNull();
    expect(conditionalSubscriptionField(parse(fragmentChain(3, 'a @skip(if: true)')))).not.toBeNull();
  });

  it('should look at each fragment once, however often fragments spread each other', () => {
    // Walked spread by spread, this chain holds 2^40 paths: the check would not end.
    expect(conditionalSubscriptionField(parse(fragmentChain(40, 'a')))).toBeNull();
    expect(conditionalSubscriptionField(parse(fragmentChain(40, 'a @include(if: false)')))).not.toBeNull();
  });
});
