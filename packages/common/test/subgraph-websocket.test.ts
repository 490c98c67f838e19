/**
 * A subgraph's graphql-ws endpoint: it masks unexpected errors in events exactly as its HTTP endpoint does, serves a
 * socket only while the gateway's newest assertion on it is valid, and bounds frames like HTTP bodies.
 */
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createLogger,
  createSubgraph,
  GATEWAY_ASSERTION_PARAM,
  MAX_BODY_BYTES,
  signGatewayAssertion,
  type HttpService,
  type Subgraph,
} from '../src/index.js';

const SECRET = 'subgraph-websocket-test-secret-0123456789-0123456789';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { ok: Boolean }
  type Subscription { ticks(label: String): Tick, failing: Tick }
  type Tick { n: Int, secret: String }
`);

/** Subscriptions to `ticks` started so far: what a refused frame must not add to. */
let ticksStarted = 0;

const resolvers = {
  Subscription: {
    ticks: {
      async *subscribe() {
        ticksStarted += 1;
        yield { ticks: { n: 1 } };
      },
    },
    failing: {
      async *subscribe() {
        yield { failing: { n: 1 } };
        throw new Error('connection to server at "10.0.0.5", port 5432 failed');
      },
    },
  },
  Tick: {
    secret: () => {
      throw new Error('relation "instagram.password_hashes" does not exist');
    },
  },
};

let subgraph: Subgraph;
let http: HttpService;

beforeAll(async () => {
  subgraph = await createSubgraph({
    name: 'websocket-test',
    typeDefs,
    resolvers,
    gatewaySecret: SECRET,
    logger: createLogger('websocket-test', 'silent'),
    createContext: (request) => request,
    checkReady: async () => {},
    subscriptions: true,
  });
  http = await subgraph.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await subgraph?.stop();
});

describe('a subgraph over graphql-ws', () => {
  it('should mask an unexpected error in an event as INTERNAL_SERVER_ERROR, keeping the rest of the event', async () => {
    const client = createClient({
      url: `${http.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: async () => ({ [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, SECRET) }),
    });
    const results = [];
    for await (const result of client.iterate({
      query: 'subscription { ticks { n secret } }',
      extensions: { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, SECRET) },
    }))
      results.push(result);
    await client.dispose();
    expect(results).toHaveLength(1);
    expect(results[0]!.data).toEqual({ ticks: { n: 1, secret: null } });
    expect(results[0]!.errors).toEqual([
      expect.objectContaining({
        message: 'Something went wrong on our side. Please try again.',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      }),
    ]);
    expect(JSON.stringify(results)).not.toContain('password_hashes');
  });

  it('should mask an unexpected failure that ends a subscription the same way', async () => {
    const client = createClient({
      url: `${http.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: async () => ({ [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, SECRET) }),
    });
    const received: unknown[] = [];
    const extensions = { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, SECRET) };
    const failure = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: 'subscription { failing { n } }', extensions },
        { next: (result) => received.push(result), error: resolve, complete: () => resolve(null) },
      );
    });
    await client.dispose();
    expect(received).toEqual([{ data: { failing: { n: 1 } } }]);
    expect(failure).toEqual([expect.objectContaining({ extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    expect(JSON.stringify(failure)).not.toContain('10.0.0.5');
  });
});

type Message = { type: string; id?: string; payload?: any };

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((dispose) => dispose()));

/** A graphql-transport-ws connection driven by hand, so a test can send what the graphql-ws client never would. */
async function rawConnection(assertion: string) {
  const socket = new WebSocket(`${http.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  cleanup.push(() => socket.terminate());
  const messages: Message[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
  await new Promise((resolve) => socket.once('open', resolve));
  const send = (message: Message) => socket.send(JSON.stringify(message));
  /** Resolves with the first message received that matches. */
  const received = (match: (message: Message) => boolean) =>
    vi.waitFor(() => messages.find(match) ?? Promise.reject(new Error('not yet')), { timeout: 5_000 });
  send({ type: 'connection_init', payload: { [GATEWAY_ASSERTION_PARAM]: assertion } });
  let subscriptions = 0;
  return {
    socket,
    closed,
    send,
    received,
    /** Runs `subscription { ticks }` to its end and resolves with what came back for it. */
    async ticks(
      variables: Record<string, unknown> = {},
      query = 'subscription ($label: String) { ticks(label: $label) { n } }',
    ) {
      const id = String((subscriptions += 1));
      const extensions = { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, SECRET) };
      send({ id, type: 'subscribe', payload: { query, variables, extensions } });
      await received((message) => message.id === id && (message.type === 'complete' || message.type === 'error'));
      return messages.filter((message) => message.id === id);
    },
  };
}

describe("a subgraph's graphql-ws sockets and the gateway's assertions", () => {
  it('should serve a socket while its assertion is valid, then close it with 4401', async () => {
    const connection = await rawConnection(await signGatewayAssertion(null, SECRET, undefined, 2));
    await connection.received((message) => message.type === 'connection_ack');
    expect(await connection.ticks()).toEqual([
      { id: '1', type: 'next', payload: { data: { ticks: { n: 1 } } } },
      { id: '1', type: 'complete' },
    ]);
    const started = Date.now();
    expect(await connection.closed).toEqual({ code: 4401, reason: 'The gateway assertion has expired.' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('should refuse a new socket with an expired assertion', async () => {
    const expired = await signGatewayAssertion(null, SECRET, undefined, 1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const connection = await rawConnection(expired);
    expect((await connection.closed).code).toBe(4403);
  });

  it('should keep a socket past its first assertion while the gateway pings fresh ones', async () => {
    const connection = await rawConnection(await signGatewayAssertion(null, SECRET, undefined, 2));
    await connection.received((message) => message.type === 'connection_ack');
    connection.send({
      type: 'ping',
      payload: { [GATEWAY_ASSERTION_PARAM]: await signGatewayAssertion(null, SECRET, undefined, 60) },
    });
    await connection.received((message) => message.type === 'pong');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await connection.ticks()).toContainEqual({ id: '1', type: 'next', payload: { data: { ticks: { n: 1 } } } });
    expect(connection.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('should close a socket with 4401 when a ping carries a forged assertion or one for someone else', async () => {
    for (const fresh of ['forged', await signGatewayAssertion({ id: '2', username: 'bob' }, SECRET)]) {
      const connection = await rawConnection(await signGatewayAssertion(null, SECRET));
      await connection.received((message) => message.type === 'connection_ack');
      connection.send({ type: 'ping', payload: { [GATEWAY_ASSERTION_PARAM]: fresh } });
      expect((await connection.closed).code).toBe(4401);
    }
  });
});

describe("a subgraph's graphql-ws input", () => {
  it('should close a socket with 1009 on a frame larger than an HTTP body may be, without running it', async () => {
    const connection = await rawConnection(await signGatewayAssertion(null, SECRET));
    await connection.received((message) => message.type === 'connection_ack');
    const before = ticksStarted;
    const padding = ' '.repeat(2 * MAX_BODY_BYTES);
    connection.send({ id: '1', type: 'subscribe', payload: { query: `subscription {${padding}ticks { n } }` } });
    expect((await connection.closed).code).toBe(1009);
    expect(ticksStarted).toBe(before);
  });

  it('should refuse text PostgreSQL cannot store as BAD_USER_INPUT, without running the subscription', async () => {
    const connection = await rawConnection(await signGatewayAssertion(null, SECRET));
    await connection.received((message) => message.type === 'connection_ack');
    const before = ticksStarted;
    const [answer] = await connection.ticks({ label: 'tick\u0000' });
    expect(answer).toMatchObject({
      type: 'error',
      payload: [{ extensions: { code: 'BAD_USER_INPUT', argument: 'label' } }],
    });
    expect(ticksStarted).toBe(before);
  });
});
