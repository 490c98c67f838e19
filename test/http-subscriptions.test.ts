/** directMessageReceived over multipart HTTP and SSE: the same checks, limits, endings and resume as over graphql-ws. */
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '@igt/common';
import { NEW_MESSAGES } from './support/documents.js';
import { mutualPair, sendDm } from './support/dms.js';
import {
  eventually,
  startExtraGateway,
  startStack,
  TEST_JWT_SECRET,
  type TestStack,
  type TestUser,
} from './support/harness.js';
import { ACCEPT, openStream, type HttpStream } from './support/httpStreams.js';
import { gatewaySubscriptions, metricsOf, sample } from './support/metrics.js';

let stack: TestStack;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  stack = await startStack();
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  await gatewaySubscriptions(stack.gatewayInternalUrl!, 0);
  await stack.liveSubscriptions(0);
});

afterAll(async () => {
  await stack?.close();
});

type Received = { directMessageReceived: { id: string; text: string } };

/** Opens a stream on the test stack's gateway, dropped after the test. */
async function stream(transport: keyof typeof ACCEPT, request: Parameters<typeof openStream>[2], url?: string) {
  const opened = await openStream<Received>(url ?? stack.gatewayUrl, transport, request);
  cleanups.push(() => opened.close());
  return opened;
}

/** Resolves once the gateway runs `count` subscriptions and Messaging listens for each, so a DM sent next is live. */
async function listening(count: number) {
  await gatewaySubscriptions(stack.gatewayInternalUrl!, count);
  await stack.liveSubscriptions(count);
}

/**
 * How a stream was refused before it started: multipart with an HTTP status and a JSON body; SSE in the stream
 * itself (200, a `next` with the errors, then `complete`), as graphql-sse's own server does.
 */
async function refusalOf(opened: HttpStream<Received>) {
  if (opened.status !== 200) return { status: opened.status, errors: opened.refusal?.errors ?? [] };
  await opened.ended();
  expect(opened.events).toEqual([]);
  expect(opened.completed).toBe(true);
  return { status: 200, errors: opened.errors };
}

const texts = (opened: HttpStream<Received>) => opened.events.map((event) => event.directMessageReceived.text);

/** Apollo Client 4 with nothing but an HttpLink: it asks for multipart subscriptions on its own. */
function httpOnlyClient(token: string) {
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: new HttpLink({ uri: stack.gatewayUrl, headers: { authorization: `Bearer ${token}` } }),
  });
  cleanups.push(() => client.stop());
  return client;
}

/**
 * Subscribes with `subscribe` the way the README says a client should: keep the last id received, and whenever the
 * subscription ends (the connection dropped, the gateway stopped), subscribe again with `after` = that id.
 */
function resumingListener(
  subscribe: (after: string | undefined, sink: { next(id: string, text: string): void; end(): void }) => () => void,
) {
  const seen: string[] = [];
  let lastId: string | undefined;
  let unsubscribe = () => {};
  let stopped = false;
  // Each subscription's callbacks count only while it is the current one: a client may still call back after it
  // was unsubscribed (graphql-sse completes it), which must not start a second one.
  let current = 0;
  const listen = () => {
    const mine = ++current;
    unsubscribe = subscribe(lastId, {
      next: (id, text) => {
        if (mine !== current) return;
        lastId = id;
        seen.push(text);
      },
      end: () => {
        if (mine !== current) return;
        current += 1;
        if (!stopped) setTimeout(listen, 50);
      },
    });
  };
  listen();
  cleanups.push(() => {
    stopped = true;
    current += 1;
    unsubscribe();
  });
  return {
    seen,
    /** Drops the connection as a network failure would; the listener resumes from the last id it saw. */
    drop() {
      current += 1;
      unsubscribe();
      setTimeout(listen, 50);
    },
  };
}

/**
 * One DM, then the connection dropped (the client aborts its request: the connection is gone) and two DMs while it is
 * away, then one after it resumed with `after`: the listener has seen all four, once each, in order.
 */
async function expectResumedAcrossDrop(a: TestUser, b: TestUser, listener: ReturnType<typeof resumingListener>) {
  await listening(1);
  await sendDm(stack, a, b.id, 'one');
  await eventually(() => listener.seen.length === 1);
  listener.drop();
  await sendDm(stack, a, b.id, 'two');
  await sendDm(stack, a, b.id, 'three');
  await eventually(() => listener.seen.length === 3);
  await listening(1);
  await sendDm(stack, a, b.id, 'four');
  await eventually(() => listener.seen.length === 4);
  expect(listener.seen).toEqual(['one', 'two', 'three', 'four']);
}

describe('subscriptions over multipart HTTP (Apollo Client 4, HttpLink only)', () => {
  it('should deliver a live DM with fields from every subgraph to a client with a plain HttpLink', async () => {
    const bob = httpOnlyClient(await stack.login('bob'));
    const received: any[] = [];
    const subscription = bob.subscribe({ query: gql(NEW_MESSAGES) }).subscribe({
      next: (result) => received.push(result.data),
    });
    cleanups.push(() => subscription.unsubscribe());
    await listening(1);
    const sent = await sendDm(stack, 'alice', '2', 'over multipart', 'THREADS');
    await eventually(() => received.length === 1);
    expect(received[0].directMessageReceived).toMatchObject({
      id: sent.id,
      text: 'over multipart',
      source: 'THREADS',
      sender: { username: 'alice', threadsProfile: { username: 'alice' } },
    });
  });

  it('should resume with `after` across a dropped connection, nothing lost or repeated', async () => {
    const [a, b] = await mutualPair(stack);
    const client = httpOnlyClient(b.token);
    const listener = resumingListener((after, sink) => {
      const subscription = client.subscribe({ query: gql(NEW_MESSAGES), variables: { after } }).subscribe({
        next: ({ data }) => {
          const message = (data as Received | undefined)?.directMessageReceived;
          if (message) sink.next(message.id, message.text);
        },
        error: sink.end,
        complete: sink.end,
      });
      return () => subscription.unsubscribe();
    });
    await expectResumedAcrossDrop(a, b, listener);
  });

  it("should hand Apollo Client a refused subscription's coded errors as GraphQL errors", async () => {
    const client = httpOnlyClient(await stack.login('bob'));
    const failure = await new Promise<unknown>((resolve) => {
      const subscription = client
        .subscribe({ query: gql(NEW_MESSAGES), variables: { after: { not: 'an id' } } })
        .subscribe({ next: ({ error }) => error && resolve(error), error: resolve });
      cleanups.push(() => subscription.unsubscribe());
    });
    expect(CombinedGraphQLErrors.is(failure)).toBe(true);
    expect((failure as CombinedGraphQLErrors).errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('should accept the quoted form of subscriptionSpec and answer in Apollo’s multipart format with heartbeats', async () => {
    const gateway = await startExtraGateway(stack, { subscriptionHeartbeatMs: 50 });
    cleanups.push(() => gateway.stop());
    const opened = await stream(
      'multipart',
      { query: NEW_MESSAGES, token: await stack.login('carol'), accept: 'multipart/mixed;subscriptionSpec="1.0"' },
      gateway.url,
    );
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec="1.0"');
    await eventually(() => opened.heartbeats >= 2);
    expect(opened.events).toEqual([]);
  });
});

/** A graphql-sse client in distinct connections mode, signed in with `token`, disposed after the test. */
function sseClient(token: string) {
  const client = createSseClient({
    url: stack.gatewayUrl,
    singleConnection: false,
    headers: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  cleanups.push(() => client.dispose());
  return client;
}

describe('subscriptions over Server-Sent Events', () => {
  it('should deliver a live DM to the graphql-sse client in distinct connections mode', async () => {
    const [a, b] = await mutualPair(stack);
    const client = sseClient(b.token);
    const received: Received[] = [];
    const unsubscribe = client.subscribe<Received>(
      { query: NEW_MESSAGES },
      { next: ({ data }) => data && received.push(data), error: () => {}, complete: () => {} },
    );
    cleanups.push(unsubscribe);
    await listening(1);
    await sendDm(stack, a, b.id, 'over sse');
    await eventually(() => received.length === 1);
    expect(received[0]!.directMessageReceived).toMatchObject({ text: 'over sse' });
  });

  it('should resume with `after` across a dropped connection, nothing lost or repeated', async () => {
    const [a, b] = await mutualPair(stack);
    const client = sseClient(b.token);
    const listener = resumingListener((after, sink) =>
      client.subscribe<Received>(
        { query: NEW_MESSAGES, variables: { after } },
        {
          next: ({ data }) => data && sink.next(data.directMessageReceived.id, data.directMessageReceived.text),
          error: sink.end,
          complete: sink.end,
        },
      ),
    );
    await expectResumedAcrossDrop(a, b, listener);
  });

  it('should stream over GET with the token in `extensions`, as a browser EventSource sends it', async () => {
    const [a, b] = await mutualPair(stack);
    const opened = await stream('sse', {
      method: 'GET',
      query: NEW_MESSAGES,
      variables: {},
      extensions: { Authorization: `Bearer ${b.token}` },
    });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await listening(1);
    await sendDm(stack, a, b.id, 'to an EventSource');
    await opened.waitFor(1);
    expect(texts(opened)).toEqual(['to an EventSource']);
  });
});

describe('one path for every transport', () => {
  it('should answer 406, naming the transports it speaks, for a subscription asked for in a form it does not speak', async () => {
    const token = await stack.login('alice');
    for (const accept of ['application/json', 'text/html', 'multipart/mixed;deferSpec=20220824', '*/*']) {
      const refused = await stream('multipart', { query: NEW_MESSAGES, token, accept });
      expect(refused.status, accept).toBe(406);
      const [error] = refused.refusal!.errors;
      expect(error?.extensions?.code).toBe('BAD_REQUEST');
      expect(error?.message).toMatch(/ws:\/\/.*\/graphql/);
      expect(error?.message).toContain('multipart/mixed;subscriptionSpec=1.0');
      expect(error?.message).toContain('text/event-stream');
    }
    // Queries and mutations are answered as before, with Apollo Client's Accept header that names multipart too.
    const query = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept:
          'multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9',
      },
      body: JSON.stringify({ query: '{ user(username: "alice") { username } }' }),
    });
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { user: { username: 'alice' } } });
  });

  it('should refuse what graphql-ws refuses, with the same codes, before streaming', async () => {
    const token = await stack.login('alice');
    const cases: [Parameters<typeof openStream>[2], number, string][] = [
      [{ query: 'subscription { directMessageReceived { nope } }', token }, 400, 'GRAPHQL_VALIDATION_FAILED'],
      [{ query: NEW_MESSAGES, variables: { after: { not: 'an id' } }, token }, 400, 'BAD_USER_INPUT'],
      [{ query: 'subscription { directMessageReceived @skip(if: false) { id } }', token }, 400, 'BAD_REQUEST'],
      [{ query: NEW_MESSAGES, operationName: 'Nope', token }, 400, 'BAD_REQUEST'],
      [{ query: 'subscription { directMessageReceived { ', token }, 400, 'GRAPHQL_PARSE_FAILED'],
      [{ query: NEW_MESSAGES, token: 'forged' }, 401, 'UNAUTHENTICATED'],
    ];
    for (const transport of ['multipart', 'sse'] as const) {
      for (const [request, status, code] of cases) {
        const refused = await refusalOf(await stream(transport, request));
        expect([transport, refused.status, refused.errors.map((error) => error.extensions?.code)]).toEqual([
          transport,
          transport === 'sse' ? 200 : status,
          [code],
        ]);
      }
    }
  });

  it('should end an anonymous subscription at once with UNAUTHENTICATED', async () => {
    for (const transport of ['multipart', 'sse'] as const) {
      const opened = await stream(transport, { query: NEW_MESSAGES });
      await opened.ended();
      expect(opened.errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(opened.completed).toBe(true);
    }
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 0);
  });

  it('should end a stream with UNAUTHENTICATED when the token it started with expires', async () => {
    const [a] = await mutualPair(stack);
    for (const transport of ['multipart', 'sse'] as const) {
      const shortLived = await signUserToken({ id: a.id, username: a.username }, TEST_JWT_SECRET, 5);
      const opened = await stream(transport, { query: NEW_MESSAGES, token: shortLived });
      expect(opened.status).toBe(200);
      await opened.ended();
      expect(opened.errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(opened.errors[0]?.message).toMatch(/after/);
      expect(opened.completed).toBe(true);
      if (transport === 'multipart') expect(opened.endingErrors).toHaveLength(1);
    }
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 0);
  });

  it('should count streams with WebSockets against the per-account and per-address limits, freeing a place on close', async () => {
    const gateway = await startExtraGateway(stack, { maxSocketsPerAccount: 2, maxSocketsPerAddress: 3 });
    cleanups.push(() => gateway.stop());
    const [a, b] = await mutualPair(stack);
    const open = (transport: keyof typeof ACCEPT, token: string) =>
      stream(transport, { query: NEW_MESSAGES, token }, gateway.url);
    const first = await open('multipart', a.token);
    expect(first.status).toBe(200);
    expect((await open('sse', a.token)).status).toBe(200);
    for (const transport of ['multipart', 'sse'] as const) {
      const third = await refusalOf(await open(transport, a.token)); // a's third
      expect(third.status).toBe(transport === 'sse' ? 200 : 429);
      expect(third.errors[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      expect(third.errors[0]?.message).toMatch(/per account/);
    }
    // A WebSocket is the address's third connection; b's stream after it is the fourth.
    const socket = gateway.wsClient(b.token, { lazy: false, onNonLazyError: () => {} });
    await new Promise<void>((resolve) => socket.on('connected', () => resolve()));
    const fourth = await refusalOf(await open('multipart', b.token));
    expect(fourth.status).toBe(429);
    expect(fourth.errors[0]?.message).toMatch(/one address/);
    first.close();
    await eventually(async () => {
      const again = await open('multipart', b.token);
      return again.status === 200;
    });
  });

  it('should count open streams by transport and their subscriptions with every other on /metrics', async () => {
    const [, b] = await mutualPair(stack);
    const multipart = await stream('multipart', { query: NEW_MESSAGES, token: b.token });
    const sse = await stream('sse', { query: NEW_MESSAGES, token: b.token });
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 2);
    const metrics = await metricsOf(stack.gatewayInternalUrl!);
    expect(sample(metrics, 'gateway_subscription_streams', { transport: 'multipart' })).toBe(1);
    expect(sample(metrics, 'gateway_subscription_streams', { transport: 'sse' })).toBe(1);
    multipart.close();
    sse.close();
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 0);
    await eventually(async () => {
      const after = await metricsOf(stack.gatewayInternalUrl!);
      return (
        sample(after, 'gateway_subscription_streams', { transport: 'multipart' }) === 0 &&
        sample(after, 'gateway_subscription_streams', { transport: 'sse' }) === 0
      );
    });
  });

  it('should send CORS headers and the request id on a stream', async () => {
    const opened = await stream('sse', {
      query: NEW_MESSAGES,
      token: await stack.login('dave'),
      headers: { origin: 'https://app.example.com', 'x-request-id': 'stream-request-1' },
    });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('access-control-allow-origin')).toBe('*');
    expect(opened.headers.get('x-request-id')).toBe('stream-request-1');
  });

  it('should end every stream with a resumable SERVICE_UNAVAILABLE when the gateway stops, closing each cleanly', async () => {
    const gateway = await startExtraGateway(stack);
    const [, b] = await mutualPair(stack);
    const streams = [
      await stream('multipart', { query: NEW_MESSAGES, token: b.token }, gateway.url),
      await stream('sse', { query: NEW_MESSAGES, token: b.token }, gateway.url),
    ];
    await gatewaySubscriptions(gateway.internalUrl, 2);
    await gateway.stop();
    for (const opened of streams) {
      await opened.ended();
      expect(opened.errors.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(opened.errors[0]?.message).toMatch(/after/);
      expect(opened.completed).toBe(true);
    }
  });

  // Last: it stops the Messaging subgraph of this file's stack.
  it('should end every stream with a resumable SUBGRAPH_UNAVAILABLE when Messaging goes away', async () => {
    const [, b] = await mutualPair(stack);
    const streams = [
      await stream('multipart', { query: NEW_MESSAGES, token: b.token }),
      await stream('sse', { query: NEW_MESSAGES, token: b.token }),
    ];
    // One person's subscriptions share one at Messaging.
    await gatewaySubscriptions(stack.gatewayInternalUrl!, 2);
    await stack.liveSubscriptions(1);
    await stack.subgraphs.messaging.stop();
    for (const opened of streams) {
      await opened.ended();
      expect(opened.errors.map((error) => error.extensions?.code)).toEqual(['SUBGRAPH_UNAVAILABLE']);
      expect(opened.errors[0]?.message).toMatch(/after/);
      expect(opened.completed).toBe(true);
    }
    // Multipart sends an error that ends the subscription as a transport error (`payload: null`), not as an event's.
    expect(streams[0]!.endingErrors).toEqual(streams[0]!.errors);
  });
});
