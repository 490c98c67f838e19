/** A subgraph's graphql-ws endpoint masks unexpected errors in events exactly as its HTTP endpoint does. */
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createSubgraph, GATEWAY_ASSERTION_PARAM, signGatewayAssertion, type HttpService, type Subgraph } from '../src/index.js';

const SECRET = 'subgraph-websocket-test-secret-0123456789-0123456789';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { ok: Boolean }
  type Subscription { ticks: Tick, failing: Tick }
  type Tick { n: Int, secret: String }
`);

const resolvers = {
  Subscription: {
    ticks: {
      async *subscribe() {
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
    resolvers: resolvers as never,
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
    for await (const result of client.iterate({ query: 'subscription { ticks { n secret } }' })) results.push(result);
    await client.dispose();
    expect(results).toHaveLength(1);
    expect(results[0]!.data).toEqual({ ticks: { n: 1, secret: null } });
    expect(results[0]!.errors).toEqual([
      expect.objectContaining({ message: 'Something went wrong on our side. Please try again.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
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
    const failure = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription { failing { n } }' }, { next: (result) => received.push(result), error: resolve, complete: () => resolve(null) });
    });
    await client.dispose();
    expect(received).toEqual([{ data: { failing: { n: 1 } } }]);
    expect(failure).toEqual([expect.objectContaining({ extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    expect(JSON.stringify(failure)).not.toContain('10.0.0.5');
  });
});
