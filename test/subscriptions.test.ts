/** directMessageReceived through the gateway: live delivery, replay, auth, limits, shared upstream connections, shutdown. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { GATEWAY_ASSERTION_PARAM, signGatewayAssertion, signUserToken } from '@igt/common';
import { FOLLOW, NEW_MESSAGES } from './support/documents.js';
import { mutualPair, sendDm } from './support/dms.js';
import {
  eventually,
  ok,
  startExtraGateway,
  startStack,
  subscribe,
  TEST_GATEWAY_SECRET,
  TEST_JWT_SECRET,
  type TestStack,
  type TestUser,
} from './support/harness.js';
import { gatewaySubscriptions, metricsOf, sample } from './support/metrics.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterEach(async () => {
  await stack.closeClients();
  await upstreamSockets(0);
});

afterAll(async () => {
  await stack?.close();
});

/** Resolves once the gateway holds `count` upstream connections to Messaging. */
const upstreamSockets = (count: number) => eventually(() => stack.subgraphs.messaging.openSockets() === count);

const send = (from: TestUser | string, recipientId: string, text: string, source?: string) =>
  sendDm(stack, from, recipientId, text, source);
const pair = () => mutualPair(stack);

describe('directMessageReceived through the gateway', () => {
  it('should deliver a new DM live with fields from every subgraph resolved', async () => {
    const bob = await stack.login('bob');
    const subscription = subscribe(stack.wsClient(bob), NEW_MESSAGES);
    await stack.liveSubscriptions(1);
    const sent = await send('alice', '2', 'Live from the gateway', 'THREADS');
    const [event] = await subscription.waitFor(1);
    expect(event.directMessageReceived).toMatchObject({
      id: sent.id,
      text: 'Live from the gateway',
      source: 'THREADS',
      sender: { id: '1', username: 'alice', fullName: 'Alice Moreau', threadsProfile: { username: 'alice' } },
    });
    subscription.unsubscribe();
  });

  it("should deliver only the viewer's own messages", async () => {
    const [a, b] = await pair();
    const outsider = await stack.signUp('out');
    const theirs = subscribe(stack.wsClient(b.token), NEW_MESSAGES);
    const mine = subscribe(stack.wsClient(outsider.token), NEW_MESSAGES);
    await stack.liveSubscriptions(2);
    await send(a, b.id, 'for b only');
    await theirs.waitFor(1);
    // A message for the outsider arriving after shows nothing else reached them first.
    const [c] = await pair();
    ok(await stack.query(FOLLOW, { userId: c.id }, { token: outsider.token }));
    await send(c, outsider.id, 'for the outsider');
    const [only] = await mine.waitFor(1);
    expect(only.directMessageReceived.text).toBe('for the outsider');
    expect(mine.events).toHaveLength(1);
  });

  it('should replay every message since `after`, then continue live, with no gap and no duplicate', async () => {
    const [a, b] = await pair();
    const first = subscribe(stack.wsClient(b.token), NEW_MESSAGES);
    await stack.liveSubscriptions(1);
    const m1 = await send(a, b.id, 'one');
    await first.waitFor(1);
    first.unsubscribe();

    // Sent while b is away.
    const missed = [await send(a, b.id, 'two'), await send(a, b.id, 'three')];
    const again = subscribe(stack.wsClient(b.token), NEW_MESSAGES, { after: first.events[0].directMessageReceived.id });
    await again.waitFor(2);
    const m4 = await send(a, b.id, 'four');
    await again.waitFor(3);
    // Messages sent while the replay runs are neither lost nor doubled.
    const burst = await Promise.all([send(a, b.id, 'five'), send(b, a.id, 'six')]);
    await again.waitFor(5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ids = again.events.map((event) => event.directMessageReceived.id);
    expect(ids).toEqual([
      ...missed.map((m) => m.id),
      m4.id,
      ...burst.map((m) => m.id).sort((x, y) => Number(x) - Number(y)),
    ]);
    expect(ids).not.toContain(m1.id);
  });

  it('should refuse an anonymous subscriber with UNAUTHENTICATED', async () => {
    const anonymous = subscribe(stack.wsClient(), NEW_MESSAGES);
    await anonymous.ended();
    expect(anonymous.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('should close the connection with 4401 for an invalid token', async () => {
    const socket = new WebSocket(stack.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { AUTHORIZATION: 'Bearer nope' } }));
    const code = await new Promise<number>((resolve) =>
      socket.once('close', (closeCode: number) => resolve(closeCode)),
    );
    expect(code).toBe(4401);
  });

  it("should let a client that resubscribes with the last id it saw (the README's pattern) miss nothing across a dropped connection", async () => {
    const [a, b] = await pair();
    const client = stack.wsClient(b.token, { retryAttempts: 0 });
    const seen: string[] = [];
    let lastId: string | undefined;
    let stopped = false;
    let ends = 0;
    const again = () => {
      ends += 1;
      if (!stopped) setTimeout(listen, 50);
    };
    function listen() {
      client.subscribe<{ directMessageReceived: { id: string; text: string } }>(
        { query: NEW_MESSAGES, variables: { after: lastId } },
        {
          next: ({ data }) => {
            if (!data) return;
            lastId = data.directMessageReceived.id;
            seen.push(data.directMessageReceived.text);
          },
          error: again,
          complete: again,
        },
      );
    }
    listen();
    await stack.liveSubscriptions(1);
    await send(a, b.id, 'one');
    await eventually(() => seen.length === 1);

    client.terminate(); // the connection drops
    await send(a, b.id, 'two');
    await send(a, b.id, 'three');
    await eventually(() => seen.length === 3);
    await send(a, b.id, 'four');
    await eventually(() => seen.length === 4);
    stopped = true;
    expect(seen).toEqual(['one', 'two', 'three', 'four']);
    expect(ends).toBeGreaterThan(0);
  });

  it('should read the Authorization connection param whatever its case', async () => {
    const [a, b] = await pair();
    const client = stack.wsClient(undefined, { connectionParams: { AuThOrIzAtIoN: `Bearer ${b.token}` } });
    const subscription = subscribe(client, NEW_MESSAGES);
    await stack.liveSubscriptions(1);
    await send(a, b.id, 'case-insensitive');
    expect((await subscription.waitFor(1))[0].directMessageReceived.text).toBe('case-insensitive');
  });

  it('should close a connection with 4401 when the token it signed in with expires', async () => {
    const [a] = await pair();
    const shortLived = await signUserToken({ id: a.id, username: a.username }, TEST_JWT_SECRET, 2);
    const subscription = subscribe(stack.wsClient(shortLived), NEW_MESSAGES);
    await stack.liveSubscriptions(1);
    await subscription.ended(10_000);
    expect(subscription.errors[0]?.extensions?.closeCode).toBe(4401);
    await stack.liveSubscriptions(0);
  });

  it('should close the upstream subscription when the client leaves', async () => {
    const [, b] = await pair();
    const client = stack.wsClient(b.token);
    const subscription = subscribe(client, NEW_MESSAGES);
    await upstreamSockets(1);
    subscription.unsubscribe();
    await upstreamSockets(0);
    // Leaving by closing the socket without unsubscribing closes it too.
    subscribe(client, NEW_MESSAGES);
    await upstreamSockets(1);
    await client.dispose();
    await upstreamSockets(0);
  });

  it('should refuse more than 20 subscriptions at once on one connection with TOO_MANY_SUBSCRIPTIONS', async () => {
    const [, b] = await pair();
    const client = stack.wsClient(b.token);
    const running = Array.from({ length: 20 }, () => subscribe(client, NEW_MESSAGES));
    // The limit counts the client's subscriptions, though the 20 share one at Messaging.
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 20);
    await stack.liveSubscriptions(1);
    const refused = subscribe(client, NEW_MESSAGES);
    await refused.ended();
    expect(refused.errors[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    // Completing one makes room again.
    running[0]!.unsubscribe();
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 19);
    subscribe(client, NEW_MESSAGES);
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 20);
  });

  it('should hold at most the configured connections per account and per address, freeing a place when one closes', async () => {
    const gateway = await startExtraGateway(stack, { maxSocketsPerAccount: 2, maxSocketsPerAddress: 3 });
    try {
      const [a, b] = await pair();
      /** Opens a socket signed in as `token`; resolves with its close code, or 'open' once acknowledged. */
      const open = (token: string | undefined) =>
        new Promise<{ outcome: number | 'open'; client: ReturnType<typeof gateway.wsClient> }>((resolve) => {
          const client = gateway.wsClient(token, {
            lazy: false,
            onNonLazyError: () => {},
            on: {
              connected: () => resolve({ outcome: 'open', client }),
              closed: (event) => resolve({ outcome: (event as { code: number }).code, client }),
            },
          });
        });
      const first = await open(a.token);
      expect(first.outcome).toBe('open');
      expect((await open(a.token)).outcome).toBe('open');
      expect((await open(a.token)).outcome).toBe(4403); // a's third
      expect((await open(b.token)).outcome).toBe('open'); // the address's third
      expect((await open(b.token)).outcome).toBe(4403); // the address's fourth
      await first.client.dispose();
      await eventually(async () => (await open(b.token)).outcome === 'open');
    } finally {
      await gateway.stop();
    }
  });

  it('should keep idle connections alive with pings', async () => {
    const socket = new WebSocket(stack.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((resolve) => socket.once('ping', resolve));
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });

  it('should run queries and mutations over the WebSocket too', async () => {
    const client = stack.wsClient(await stack.login('carol'));
    const result = await new Promise<any>((resolve, reject) => {
      client.subscribe({ query: '{ viewer { username } }' }, { next: resolve, error: reject, complete: () => {} });
    });
    expect(result.data).toEqual({ viewer: { username: 'carol' } });
  });

  it("should multiplex many clients' subscriptions over at most the pool size of connections to Messaging", async () => {
    const gateway = await startExtraGateway(stack, { upstreamSocketsPerSubgraph: 2 });
    try {
      const [a, b] = await pair();
      const [c, d] = await pair();
      const subscriptions = [b, b, b, d, d, d, a, c].map((who) => subscribe(gateway.wsClient(who.token), NEW_MESSAGES));
      await gatewaySubscriptions(gateway.internalUrl, subscriptions.length);
      // One subscription per person at Messaging: a person's sockets share theirs.
      await stack.liveSubscriptions(4);
      expect(stack.subgraphs.messaging.openSockets()).toBe(2);
      // Each subscription still hears its own viewer's conversations only (a sender hears what they sent).
      await send(a, b.id, 'between a and b');
      await send(c, d.id, 'between c and d');
      for (const subscription of subscriptions) await subscription.waitFor(1);
      expect(subscriptions.map((subscription) => subscription.events[0].directMessageReceived.text)).toEqual([
        ...Array(3).fill('between a and b'),
        ...Array(3).fill('between c and d'),
        'between a and b',
        'between c and d',
      ]);
    } finally {
      await gateway.stop();
    }
  });

  it("should let one person's sockets share one subscription at Messaging, completing each DM once for all of them", async () => {
    const gateway = await startExtraGateway(stack);
    try {
      const [a, b] = await pair();
      const devices = [1, 2, 3].map(() => subscribe(gateway.wsClient(b.token), NEW_MESSAGES));
      await gatewaySubscriptions(gateway.internalUrl, 3);
      await stack.liveSubscriptions(1);
      /** Fetches this gateway (it only completes events; sends go through the stack's) made to Instagram. */
      const instagramFetches = async () =>
        sample(await metricsOf(gateway.internalUrl), 'gateway_subgraph_fetch_duration_seconds_count', {
          subgraph: 'instagram',
          outcome: 'ok',
        }) ?? 0;
      const before = await instagramFetches();
      const sent = await send(a, b.id, 'to every device');
      for (const device of devices) {
        expect((await device.waitFor(1))[0].directMessageReceived).toMatchObject({
          id: sent.id,
          sender: { username: a.username },
        });
      }
      expect(await instagramFetches()).toBe(before + 1);

      // Asking for the past (`after`) takes a subscription of its own: the shared one is already past it.
      const resuming = subscribe(gateway.wsClient(b.token), NEW_MESSAGES, { after: String(Number(sent.id) - 1) });
      expect((await resuming.waitFor(1))[0].directMessageReceived.id).toBe(sent.id);
      await stack.liveSubscriptions(2);
      // However it asks: written into a fragment, the same replay twice is two subscriptions, each replaying.
      const SINCE = `subscription { ...Since } fragment Since on Subscription {
        directMessageReceived(after: "${Number(sent.id) - 1}") { id } }`;
      for (const live of [3, 4]) {
        const replaying = subscribe(gateway.wsClient(b.token), SINCE);
        expect((await replaying.waitFor(1))[0].directMessageReceived.id).toBe(sent.id);
        await stack.liveSubscriptions(live);
      }
    } finally {
      await gateway.stop();
    }
  });

  it("should end only the client that leaves, misbehaves or whose token expires, never another's subscription on the shared connection", async () => {
    const gateway = await startExtraGateway(stack, { upstreamSocketsPerSubgraph: 1 });
    try {
      const [a, b] = await pair();
      const steady = subscribe(gateway.wsClient(b.token), NEW_MESSAGES);
      const shortLived = await signUserToken({ id: b.id, username: b.username }, TEST_JWT_SECRET, 2);
      const expiring = subscribe(gateway.wsClient(shortLived), NEW_MESSAGES);
      const leaving = gateway.wsClient(b.token);
      subscribe(leaving, NEW_MESSAGES);
      const unsubscribing = subscribe(gateway.wsClient(b.token), NEW_MESSAGES);
      // A subscription whose variables would make a frame too large for Messaging fails alone.
      const oversized = subscribe(gateway.wsClient(b.token), NEW_MESSAGES, { after: '9'.repeat(1_048_000) });
      // b's four live ones share one subscription at Messaging.
      await gatewaySubscriptions(gateway.internalUrl, 4);
      await stack.liveSubscriptions(1);
      expect(stack.subgraphs.messaging.openSockets()).toBe(1);
      await oversized.ended();
      expect(oversized.errors[0]?.extensions?.code).toBe('BAD_REQUEST');

      // A client that breaks the protocol is closed by the gateway (4400); its neighbours stay.
      const rude = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      await new Promise((resolve) => rude.once('open', resolve));
      rude.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${b.token}` } }));
      await new Promise((resolve) => rude.once('message', resolve));
      rude.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: NEW_MESSAGES } }));
      await gatewaySubscriptions(gateway.internalUrl, 5);
      const rudeClosed = new Promise<number>((resolve) => rude.once('close', (code: number) => resolve(code)));
      rude.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: NEW_MESSAGES } }));
      expect(await rudeClosed).toBe(4409);

      unsubscribing.unsubscribe();
      await leaving.dispose();
      await expiring.ended(10_000);
      expect(expiring.errors[0]?.extensions?.closeCode).toBe(4401);
      await gatewaySubscriptions(gateway.internalUrl, 1);
      await stack.liveSubscriptions(1);

      await send(a, b.id, 'still here');
      expect((await steady.waitFor(1))[0].directMessageReceived.text).toBe('still here');
      expect(steady.completed).toBe(false);
      expect(steady.errors).toEqual([]);
      expect(stack.subgraphs.messaging.openSockets()).toBe(1);
    } finally {
      await gateway.stop();
    }
  });

  it("should refuse a subscription sent straight to Messaging without the gateway's valid assertion for it, and only that one", async () => {
    const [a, b] = await pair();
    const direct: Client = createClient({
      url: stack.subgraphUrls.messaging.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      // The connection is the gateway's own: what it vouches for at connect names nobody.
      connectionParams: async () => ({
        [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, TEST_GATEWAY_SECRET),
      }),
    });
    try {
      const viewer = { id: b.id, username: b.username };
      const refused: Record<string, unknown>[] = [
        {},
        { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(viewer, 'a-guessed-secret-that-is-not-the-gateways') },
        { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(viewer, TEST_GATEWAY_SECRET, undefined, 0) },
        { [GATEWAY_ASSERTION_PARAM]: b.token },
      ];
      const kept = new Promise<unknown>((resolve) => {
        direct.subscribe(
          { query: 'subscription { directMessageReceived { id } }', extensions: {} },
          { next: resolve, error: resolve, complete: () => resolve('complete') },
        );
      });
      for (const extensions of refused) {
        const outcome = await new Promise<unknown>((resolve) => {
          direct.subscribe(
            { query: 'subscription { directMessageReceived { id text } }', extensions },
            { next: resolve, error: resolve, complete: () => resolve('complete') },
          );
        });
        expect(outcome).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })]);
      }
      expect(await kept).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })]);
      // The same connection still serves a subscription the gateway signed for its viewer.
      const signed = await signGatewayAssertion(viewer, TEST_GATEWAY_SECRET);
      const received = new Promise<unknown>((resolve, reject) => {
        direct.subscribe(
          {
            query: 'subscription { directMessageReceived { text } }',
            extensions: { [GATEWAY_ASSERTION_PARAM]: signed },
          },
          { next: resolve, error: reject, complete: () => reject(new Error('completed')) },
        );
      });
      await stack.liveSubscriptions(1);
      await send(a, b.id, 'signed for b');
      expect(await received).toEqual({ data: { directMessageReceived: { text: 'signed for b' } } });
    } finally {
      await direct.dispose();
    }
  });

  // Last: it stops the Messaging subgraph of this file's stack.
  it('should tell subscribers when the Messaging subgraph goes away', async () => {
    const [, b] = await pair();
    const subscription = subscribe(stack.wsClient(b.token), NEW_MESSAGES);
    await stack.liveSubscriptions(1);
    await stack.subgraphs.messaging.stop();
    await subscription.ended();
    expect(subscription.errors[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect(subscription.errors[0]?.message).toMatch(/after/);
    // Over HTTP too: a coded error naming the service, not its address.
    const query = await stack.query('{ inbox { edges { cursor } } }', {}, { token: b.token });
    expect(query.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'messaging' });
    expect(JSON.stringify(query)).not.toContain(stack.subgraphUrls.messaging);
    // The gateway stays ready (a load balancer keeps it), says which subgraph is away, and goes on serving the rest.
    expect((await fetch(new URL('/health', stack.gatewayUrl))).status).toBe(200);
    const health = await fetch(new URL('/health/subgraphs', stack.gatewayInternalUrl));
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      subgraphs: { messaging: { status: 'unavailable' }, instagram: { status: 'ok' } },
    });
    expect(ok(await stack.query('{ user(username: "alice") { username } }')).user.username).toBe('alice');
  });

  // Last of all: it shuts the whole stack down.
  it('should close client connections with 1001 (going away) when the gateway shuts down, so clients reconnect elsewhere', async () => {
    const socket = new WebSocket(stack.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((resolve) => socket.once('message', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
    await stack.close();
    expect(await closed).toBe(1001);
  });
});
