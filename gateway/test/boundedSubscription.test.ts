/** The bounded queue over a subgraph subscription: events in order, how it ended, overflow past its limit, closing. */
import { describe, expect, it } from 'vitest';
import type { Sink } from 'graphql-ws';
import { boundedSubscription } from '../src/boundedSubscription.js';

/** A graphql-ws client stand-in whose single subscription the test drives by hand. */
function fakeClient() {
  let sink: Sink | undefined;
  let unsubscribed = 0;
  return {
    client: {
      subscribe: (_payload: unknown, given: Sink) => {
        sink = given as Sink;
        return () => {
          unsubscribed += 1;
        };
      },
    },
    emit: (n: number) => sink!.next({ data: { n } }),
    fail: (error: unknown) => sink!.error(error),
    unsubscribed: () => unsubscribed,
  };
}

const PAYLOAD = { query: 'subscription { n }' };

describe('boundedSubscription', () => {
  it('should hand over events in order, then how the upstream subscription ended', async () => {
    const upstream = fakeClient();
    const events = boundedSubscription(upstream.client as never, PAYLOAD, 10);
    const first = events.next();
    upstream.emit(1);
    upstream.emit(2);
    upstream.fail(new Error('gone'));
    expect(await first).toEqual({ kind: 'event', event: { data: { n: 1 } } });
    expect(await events.next()).toEqual({ kind: 'event', event: { data: { n: 2 } } });
    expect(await events.next()).toMatchObject({ kind: 'error' });
  });

  it('should drop the upstream subscription and end with overflow once more than `limit` events wait', async () => {
    const upstream = fakeClient();
    const events = boundedSubscription(upstream.client as never, PAYLOAD, 3);
    for (const n of [1, 2, 3, 4, 5]) upstream.emit(n);
    expect(upstream.unsubscribed()).toBe(1);
    const items = [await events.next(), await events.next(), await events.next(), await events.next()];
    expect(items.map((item) => item.kind)).toEqual(['event', 'event', 'event', 'overflow']);
  });

  it('should let a waiting reader go when closed, and stop the upstream subscription', async () => {
    const upstream = fakeClient();
    const events = boundedSubscription(upstream.client as never, PAYLOAD, 3);
    const waiting = events.next();
    events.close();
    expect(await waiting).toEqual({ kind: 'complete' });
    expect(upstream.unsubscribed()).toBe(1);
  });
});
