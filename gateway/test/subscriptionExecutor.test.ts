// The subscription executor on its own: what it sends when an event is incomplete, alone or shared by subscribers.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { Sink, SubscribePayload } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics } from '@igt/common';
import { createGatewayContext } from '../src/context.js';
import { SUPERGRAPH_PATH } from '../src/server.js';
import { boundedSubscription } from '../src/boundedSubscription.js';
import { SubscriptionExecutor } from '../src/subscriptions.js';
import type { ClientSubscriptions } from '../src/upstream.js';

/** Upstream connections whose one subscription the test feeds by hand. */
function fakeUpstream() {
  let sink: Sink | undefined;
  const client = {
    subscribe: (_payload: unknown, given: Sink) => {
      sink = given;
      return () => {};
    },
  };
  const upstream: Pick<ClientSubscriptions, 'subscribe'> = {
    subscribe: (_subgraph: string, payload: SubscribePayload) => boundedSubscription(client, payload, 10),
  };
  return { upstream, next: (value: unknown) => sink!.next(value as never) };
}

const executor = new SubscriptionExecutor(
  readFileSync(SUPERGRAPH_PATH, 'utf8'),
  {},
  createLogger('test', 'silent'),
  createMetrics('gateway'),
);
const context = createGatewayContext(
  { id: '2', username: 'bob' },
  'executor-test-gateway-secret-0123456789-0123456789',
);

describe('SubscriptionExecutor', () => {
  it('should end the subscription, not skip the event, when the owning subgraph sends it with a fault', async () => {
    const { upstream, next } = fakeUpstream();
    const events = executor.subscribe(
      parse('subscription { directMessageReceived { id text } }'),
      {},
      undefined,
      context,
      upstream,
    );
    const first = events.next();
    next({
      data: null,
      errors: [{ message: 'Something went wrong on our side.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
    const result = await first;
    expect(result.done).toBe(false);
    expect(result.value.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'messaging' });
    expect(result.value.errors?.[0]?.message).toMatch(/after/);
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it("should pass on an event the client may not see (no data, the client's own error) and go on", async () => {
    const { upstream, next } = fakeUpstream();
    const events = executor.subscribe(
      parse('subscription { directMessageReceived { id text } }'),
      {},
      undefined,
      context,
      upstream,
    );
    const first = events.next();
    next({ data: null, errors: [{ message: 'Not yours.', extensions: { code: 'FORBIDDEN' } }] });
    expect((await first).value.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const second = events.next();
    next({ data: { directMessageReceived: { id: '7', text: 'hi' } } });
    expect((await second).value).toEqual({ data: { directMessageReceived: { id: '7', text: 'hi' } } });
    await events.return?.();
  });

  it('should let a subscriber that reaches a shared event later complete it afresh when the first try failed', async () => {
    let instagramUp = false;
    const sharing = new SubscriptionExecutor(
      readFileSync(SUPERGRAPH_PATH, 'utf8'),
      {
        instagram: {
          process: async () =>
            instagramUp
              ? { data: { _entities: [{ __typename: 'User', username: 'alice' }] } }
              : { errors: [{ message: 'Away.', extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'instagram' } }] },
        },
      },
      createLogger('test', 'silent'),
      createMetrics('gateway'),
      [],
    );
    // Two subscribers of one shared subgraph subscription: each event reaches both as the same object.
    const sinks: Sink[] = [];
    const client = { subscribe: (_payload: unknown, sink: Sink) => (sinks.push(sink), () => {}) };
    const upstream: Pick<ClientSubscriptions, 'subscribe'> = {
      subscribe: (_subgraph: string, payload: SubscribePayload) => boundedSubscription(client, payload, 10),
    };
    const document = parse('subscription { directMessageReceived { id sender { username } } }');
    const [first, later] = [1, 2].map(() => sharing.subscribe(document, {}, undefined, context, upstream));
    const event = { data: { directMessageReceived: { id: '7', sender: { __typename: 'User', id: '1' } } } };
    const firstResult = first!.next();
    for (const sink of sinks) sink.next(event as never);
    expect((await firstResult).value.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
    instagramUp = true;
    expect((await later!.next()).value).toEqual({
      data: { directMessageReceived: { id: '7', sender: { username: 'alice' } } },
    });
    await later!.return?.();
  });
});
