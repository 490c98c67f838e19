/** Messaging's directMessageReceived on the subgraph itself: replay after `after`, then live, only the viewer's own. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  createLogger,
  createMemoryEventStream,
  createMemoryRateLimitStore,
  createMemoryPubSub,
  demoId,
  GATEWAY_ASSERTION_HEADER,
  GATEWAY_ASSERTION_PARAM,
  openSqlClient,
  signGatewayAssertion,
  type HttpService,
  type PubSub,
  type SqlClient,
  type Viewer,
} from '@igt/common';
import { createMessagingSubgraph, type MessagingSubgraph } from '../src/server.js';

const SECRET = 'messaging-test-gateway-secret-0123456789abcdef';

let sql: SqlClient;
let subgraph: MessagingSubgraph;
let http: HttpService;
let listeners = 0;
const clients: Client[] = [];

/** In-process pub/sub that counts live listeners, to see that a leaving client releases its own. */
function countingPubSub(inner: PubSub): PubSub {
  return {
    publish: (channel, payload) => inner.publish(channel, payload),
    onReconnect: (listener) => inner.onReconnect(listener),
    ping: () => inner.ping(),
    async subscribe(channel, listener) {
      const unsubscribe = await inner.subscribe(channel, listener);
      listeners += 1;
      return async () => {
        listeners -= 1;
        await unsubscribe();
      };
    },
    close: () => inner.close(),
  };
}

const viewer = (username: string): Viewer => ({ id: String(demoId(username)), username });

beforeAll(async () => {
  sql = await openSqlClient({});
  subgraph = await createMessagingSubgraph({
    sql,
    pubsub: countingPubSub(createMemoryPubSub()),
    events: createMemoryEventStream(),
    logger: createLogger('messaging-test', 'silent'),
    gatewaySecret: SECRET,
    seed: false,
    catchUpIntervalMs: 0,
    rateLimits: createMemoryRateLimitStore(),
  });
  http = await subgraph.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await subgraph?.stop();
  await sql?.close();
});

/** Calls the subgraph as the gateway would, for `as`. */
async function call(as: Viewer, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${http.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [GATEWAY_ASSERTION_HEADER]: await signGatewayAssertion(as, SECRET) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
}

async function send(from: string, to: string, text: string): Promise<number> {
  const result = await call(
    viewer(from),
    `#graphql
    mutation ($input: SendDirectMessageInput!) { sendDirectMessage(input: $input) { message { id } } }`,
    {
      input: { recipientId: String(demoId(to)), text },
    },
  );
  expect(result.errors).toBeUndefined();
  return Number(result.data.sendDirectMessage.message.id);
}

/** Subscribes as `as` (null for anonymous) and collects what arrives. */
async function subscribe(as: Viewer | null, after: number | null) {
  const client = createClient({
    url: http.url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, SECRET) },
  });
  clients.push(client);
  const events = client.iterate<{ directMessageReceived: { id: string; text: string; sender: { id: string } } }>({
    query: `#graphql
      subscription ($after: ID) { directMessageReceived(after: $after) { id text sender { id } conversation { id } } }`,
    variables: { after: after === null ? null : String(after) },
    // The connection is the gateway's; who subscribes comes with the subscription.
    extensions: { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(as, SECRET) },
  });
  const received: { id: number; text: string }[] = [];
  const errors: unknown[] = [];
  const done = (async () => {
    try {
      for await (const event of events) {
        if (event.errors) errors.push(...event.errors);
        if (event.data)
          received.push({
            id: Number(event.data.directMessageReceived.id),
            text: event.data.directMessageReceived.text,
          });
      }
    } catch (error) {
      errors.push(error);
    }
  })();
  return {
    received,
    errors,
    async waitFor(count: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count && !errors.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
    },
    async leave() {
      await events.return?.();
      await done;
    },
  };
}

/** Waits (up to 5 s) for `condition` to hold. */
async function until(condition: () => boolean) {
  const deadline = Date.now() + 5_000;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** Gives a just-opened subscription time to reach the subgraph and start listening. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

describe('directMessageReceived', () => {
  it('should replay everything after `after`, then deliver concurrent sends live in id order with no gap or duplicate', async () => {
    const first = await send('alice', 'bob', 'history 1');
    await send('bob', 'alice', 'history 2');
    await send('carol', 'bob', 'history 3');
    const bob = await subscribe(viewer('bob'), first);
    await settle();

    const senders = ['alice', 'carol', 'dave', 'erin', 'frank'];
    const live = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 6 === 5 ? send('bob', senders[i % 5]!, `from bob ${i}`) : send(senders[i % 5]!, 'bob', `to bob ${i}`),
      ),
    );
    // Someone else's conversation, interleaved: never delivered to Bob.
    await send('carol', 'dave', 'not for bob');
    await bob.waitFor(32);
    await settle();

    expect(bob.errors).toEqual([]);
    const ids = bob.received.map((event) => event.id);
    expect(ids).toHaveLength(32);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 2).map((id) => bob.received.find((e) => e.id === id)!.text)).toEqual([
      'history 2',
      'history 3',
    ]);
    expect(new Set(ids.slice(2))).toEqual(new Set(live));
    await bob.leave();
  });

  it('should deliver only live messages without `after`, and only the viewer’s own', async () => {
    await send('alice', 'erin', 'before erin subscribed');
    const erin = await subscribe(viewer('erin'), null);
    await settle();
    await send('alice', 'bob', 'not for erin');
    const id = await send('dave', 'erin', 'hello erin');
    await erin.waitFor(1);
    await settle();
    expect(erin.received).toEqual([{ id, text: 'hello erin' }]);
    await erin.leave();
  });

  it('should release its pub/sub listener when the client leaves', async () => {
    // Earlier tests' clients have left; their completions reach the server asynchronously.
    await until(() => listeners === 0);
    const frank = await subscribe(viewer('frank'), null);
    await until(() => listeners === 1);
    expect(listeners).toBe(1);
    await frank.leave();
    await until(() => listeners === 0);
    expect(listeners).toBe(0);
  });

  it('should refuse an anonymous subscriber with UNAUTHENTICATED', async () => {
    const anonymous = await subscribe(null, null);
    await anonymous.waitFor(1, 2_000);
    expect(JSON.stringify(anonymous.errors)).toContain('UNAUTHENTICATED');
    expect(anonymous.received).toEqual([]);
  });
});
