/** The gateway's endpoint: landing page, health, CORS, introspection, persisted queries, client mistakes, limits. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildClientSchema, buildSchema, getIntrospectionQuery, printSchema, type IntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '@igt/gateway/config';
import { API_SCHEMA_PATH } from '../scripts/supergraph.js';
import {
  expectError,
  ok,
  startExtraGateway,
  startStack,
  subscribe,
  type GraphQLResponse,
  type TestStack,
  PRODUCTION_ENV,
} from './support/harness.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

describe('gateway HTTP endpoint', () => {
  it('should show the Apollo Sandbox landing page to a browser on / and /graphql', async () => {
    for (const path of ['/', '/graphql']) {
      const response = await fetch(new URL(path, stack.gatewayUrl), { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('sandbox');
      // It opens on a ready-to-run federated query, and the embedded Sandbox sends Apollo no telemetry.
      expect(html).toContain('query Profile');
      expect(html).toMatch(/"runTelemetry":\s*false/);
    }
  });

  it('should be ready on /health, and show every subgraph serving on /health/subgraphs', async () => {
    const response = await fetch(new URL('/health', stack.gatewayUrl));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    // Subgraph health is for operators: on the internal listener, not the public port.
    expect((await fetch(new URL('/health/subgraphs', stack.gatewayUrl))).status).toBe(404);
    const subgraphs = await fetch(new URL('/health/subgraphs', stack.gatewayInternalUrl));
    expect(subgraphs.status).toBe(200);
    expect(await subgraphs.json()).toEqual({
      status: 'ok',
      subgraphs: { instagram: { status: 'ok' }, threads: { status: 'ok' }, messaging: { status: 'ok' } },
    });
  });

  it('should let browsers on other origins call it (Apollo Sandbox, web apps), without credentials', async () => {
    const preflight = await fetch(stack.gatewayUrl, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://studio.apollographql.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type, authorization');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { origin: 'https://app.example.com', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toBe('x-request-id');
  });

  it('should allow introspection by default', async () => {
    const result = ok(
      await stack.query('{ __schema { queryType { name } } __type(name: "Profile") { fields { name } } }'),
    );
    expect(result.__schema.queryType.name).toBe('Query');
    expect(result.__type.fields.map((f: { name: string }) => f.name)).toContain('messageAction');
  });

  it('should show clients through introspection exactly the committed schema/api.graphql', async () => {
    const introspection = ok<IntrospectionQuery>(await stack.query(getIntrospectionQuery()));
    expect(printSchema(buildClientSchema(introspection))).toBe(
      printSchema(buildSchema(readFileSync(API_SCHEMA_PATH, 'utf8'))),
    );
  });

  it('should refuse introspection, show no Sandbox and answer CORS for listed origins only, on the production config', async () => {
    const config = loadConfig(PRODUCTION_ENV);
    const gateway = await startExtraGateway(stack, {
      introspection: config.INTROSPECTION,
      corsOrigins: config.CORS_ORIGINS,
    });
    try {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
      });
      const body = (await response.json()) as { errors?: { message: string }[] };
      expect(body.errors?.[0]?.message).toMatch(/introspection/i);
      const page = await fetch(new URL('/', gateway.url), { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/sandbox/i);
      const query = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ user(username: "alice") { username } }' }),
      });
      expect(await query.json()).toEqual({ data: { user: { username: 'alice' } } });
      const cors = async (origin: string) =>
        (await fetch(gateway.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } }))
          .headers;
      expect((await cors('https://app.example.com')).get('access-control-allow-origin')).toBe(
        'https://app.example.com',
      );
      expect((await cors('https://evil.example')).get('access-control-allow-origin')).toBeNull();
    } finally {
      await gateway.stop();
    }
  });

  it("should tell clients neither a subgraph's address nor that their token is bad when a subgraph refuses the gateway, and tell operators why", async () => {
    // A gateway whose GATEWAY_SECRET differs from the subgraphs' (a misconfiguration): every subgraph answers it 401.
    const gateway = await startExtraGateway(stack, {
      gatewaySecret: 'a-different-gateway-secret-0123456789-0123456789',
    });
    try {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ user(username: "alice") { username } }' }),
      });
      const text = await response.text();
      expectError(JSON.parse(text), 'INTERNAL_SERVER_ERROR');
      expect(text).not.toContain(stack.subgraphUrls.instagram);
      expect(text).not.toMatch(/401|Unauthorized/);
      // It still serves (its own errors say what is wrong), and says why the subgraphs refuse it.
      expect((await fetch(new URL('/health', gateway.url))).status).toBe(200);
      const health = await fetch(new URL('/health/subgraphs', gateway.internalUrl));
      expect(health.status).toBe(503);
      expect(
        ((await health.json()) as { subgraphs: Record<string, { reason?: string }> }).subgraphs.instagram?.reason,
      ).toMatch(/GATEWAY_SECRET/);
    } finally {
      await gateway.stop();
    }
  });

  it('should serve automatic persisted queries, over GET too, so apps can send a hash instead of the query', async () => {
    const query = '{ user(username: "alice") { username } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const persistedQuery = { version: 1, sha256Hash };
    const post = (body: unknown) =>
      fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json());

    expectError((await post({ extensions: { persistedQuery } })) as never, 'PERSISTED_QUERY_NOT_FOUND');
    expect(ok((await post({ query, extensions: { persistedQuery } })) as never)).toEqual({
      user: { username: 'alice' },
    });
    const url = new URL(stack.gatewayUrl);
    url.searchParams.set('extensions', JSON.stringify({ persistedQuery }));
    const get = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(200);
    expect(ok((await get.json()) as never)).toEqual({ user: { username: 'alice' } });
  });

  it('should refuse a GET a browser could send cross-site (CSRF), and mutations over GET', async () => {
    const url = new URL(stack.gatewayUrl);
    url.searchParams.set('query', '{ __typename }');
    expect((await fetch(url)).status).toBe(400);
    url.searchParams.set('query', 'mutation { clearStatus { id } }');
    const mutation = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(mutation.status).toBe(405);
  });

  it('should answer a subscription sent as a plain JSON request with 406, pointing to the transports it speaks', async () => {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.login('alice')}` },
      body: JSON.stringify({ query: 'subscription { directMessageReceived { id } }' }),
    });
    expect(response.status).toBe(406);
    const result = (await response.json()) as GraphQLResponse;
    expectError(result, 'BAD_REQUEST');
    expect(result.errors?.[0]?.message).toMatch(/ws:\/\/.*multipart\/mixed;subscriptionSpec=1\.0.*text\/event-stream/);
  });

  it('should give coded errors for malformed requests without leaking internals', async () => {
    expectError(await stack.query('{ viewer { nope } }'), 'GRAPHQL_VALIDATION_FAILED');
    expectError(await stack.query('{ viewer { '), 'GRAPHQL_PARSE_FAILED');
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(response.status).toBe(400);
    const oversized = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ viewer { id } } # ${'x'.repeat(1_100_000)}` }),
    });
    expect(oversized.status).toBe(413);
  });
});

describe("a client's mistakes", () => {
  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('should answer 400 BAD_REQUEST, not 500, when the operation to run cannot be picked', async () => {
    for (const body of [
      { query: 'query A { __typename }', operationName: 'B' },
      { query: 'query A { __typename } query B { __typename }' },
    ]) {
      const response = await post(stack.gatewayUrl, body);
      expect(response.status).toBe(400);
      expectError((await response.json()) as GraphQLResponse, 'BAD_REQUEST');
    }
    const wrongVersion = await post(stack.gatewayUrl, {
      extensions: { persistedQuery: { version: 2, sha256Hash: 'abc' } },
    });
    expect(wrongVersion.status).toBe(400);
    expectError((await wrongVersion.json()) as GraphQLResponse, 'BAD_REQUEST');
    const wrongHash = await post(stack.gatewayUrl, {
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } },
    });
    expectError((await wrongHash.json()) as GraphQLResponse, 'BAD_REQUEST');
  });

  it('should give the same coded errors over WebSocket as over HTTP, and keep the connection open', async () => {
    const client = stack.wsClient(await stack.login('alice'));
    const outcome = (query: string, operationName?: string) =>
      new Promise<unknown>((resolve) => {
        client.subscribe(
          { query, ...(operationName ? { operationName } : {}) },
          { next: resolve, error: resolve, complete: () => {} },
        );
      });
    const codeOf = (outcome: unknown) => (outcome as { extensions?: { code?: string } }[])[0]?.extensions?.code;
    expect(codeOf(await outcome('{ viewer { nope } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(codeOf(await outcome('{ viewer { '))).toBe('GRAPHQL_PARSE_FAILED');
    expect(codeOf(await outcome('query A { __typename }', 'B'))).toBe('BAD_REQUEST');
    expect(await outcome('{ viewer { username } }')).toEqual({ data: { viewer: { username: 'alice' } } });
  });

  it('should hint at no schema names, over HTTP or WebSocket, while introspection is off', async () => {
    const gateway = await startExtraGateway(stack, { introspection: false });
    try {
      const mistakes = [
        { query: '{ viewr { id } }' },
        { query: '{ inbox(folder: PRIMRY) { edges { cursor } } }' },
        { query: 'query ($f: InboxFolder) { inbox(folder: $f) { edges { cursor } } }', variables: { f: 'PRIMRY' } },
      ];
      const client = gateway.wsClient();
      for (const mistake of mistakes) {
        const overHttp = JSON.stringify(await (await post(gateway.url, mistake)).json());
        const overWebSocket = JSON.stringify(
          await new Promise((resolve) =>
            client.subscribe(mistake, { next: resolve, error: resolve, complete: () => {} }),
          ),
        );
        for (const answer of [overHttp, overWebSocket]) {
          expect(answer).toMatch(/GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT/);
          expect(answer).not.toMatch(/Did you mean|"viewer"|"PRIMARY"|INTERNAL_SERVER_ERROR/);
        }
      }
    } finally {
      await gateway.stop();
    }
    // With introspection on (development), the hints help.
    expect((await stack.query('{ viewr { id } }')).errors?.[0]?.message).toMatch(/Did you mean "viewer"/);
  });

  it('should refuse a conditional subscription field as BAD_REQUEST, on HTTP and on a WebSocket that stays open', async () => {
    const token = await stack.login('bob');
    const conditional = [
      {
        query: 'subscription ($s: Boolean!) { directMessageReceived @include(if: $s) { id } }',
        variables: { s: true },
      },
      { query: 'subscription { directMessageReceived @skip(if: true) { id } }' },
      {
        query: 'subscription { ...F } fragment F on Subscription { directMessageReceived @include(if: false) { id } }',
      },
    ];
    for (const mistake of conditional) {
      const response = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'multipart/mixed;subscriptionSpec=1.0',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify(mistake),
      });
      expect(response.status).toBe(400);
      expectError((await response.json()) as GraphQLResponse, 'BAD_REQUEST');
    }
    const client = stack.wsClient(token);
    const running = subscribe(client, 'subscription { directMessageReceived { id } }');
    await stack.liveSubscriptions(1);
    for (const mistake of conditional) {
      const refused = subscribe(client, mistake.query, mistake.variables);
      await refused.ended();
      expect(refused.errors[0]?.extensions?.code).toBe('BAD_REQUEST');
    }
    expect(running.completed).toBe(false);
    await stack.liveSubscriptions(1);
  });

  it("should refuse a subscription's bad variables as BAD_USER_INPUT before any subgraph sees them", async () => {
    const client = stack.wsClient(await stack.login('bob'));
    const cases: [string, Record<string, unknown>][] = [
      ['subscription ($a: ID!) { directMessageReceived(after: $a) { id } }', {}],
      ['subscription ($a: ID) { directMessageReceived(after: $a) { id } }', { a: 5.5 }],
      ['subscription ($a: ID) { directMessageReceived(after: $a) { id } }', { a: ['1'] }],
    ];
    for (const [query, variables] of cases) {
      const refused = subscribe(client, query, variables);
      await refused.ended();
      expect(refused.errors[0]?.extensions?.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    }
  });

  it('should close a WebSocket that sends a frame larger than 1 MiB (1009) without running it', async () => {
    const socket = new WebSocket(stack.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((resolve) => socket.once('message', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
    const before = stack.sqlStatements();
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: `{ user(username: "alice") { id } } # ${'x'.repeat(2 * 1024 * 1024)}` },
      }),
    );
    expect(await closed).toBe(1009);
    expect(stack.sqlStatements()).toBe(before);
  });
});

describe('operation limits', () => {
  it('should refuse an operation nested too deeply, before any subgraph is asked', async () => {
    const deep = `{ viewer { followers { edges { node { followers { edges { node { followers { edges { node { followers { edges { node { username } } } } } } } } } } } } } }`;
    const before = stack.sqlStatements();
    const result = await stack.query(deep);
    expect(result.errors?.[0]?.message).toMatch(/depth/i);
    expect(result.errors?.[0]?.message).not.toMatch(/syntax/i);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.data).toBeUndefined();
    expect(stack.sqlStatements()).toBe(before);
  });

  it('should refuse too many aliases', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: user(username: "alice") { id }`).join(' ');
    const result = await stack.query(`{ ${aliases} }`);
    expect(result.errors?.[0]?.message).toMatch(/alias/i);
  });

  it('should refuse an operation whose pages multiply past the cost limit, however its page sizes are given', async () => {
    const token = await stack.login('alice');
    const before = stack.sqlStatements();
    const nested = (first: string) =>
      `query Nested${first === '$n' ? '($n: Int)' : ''} { feed(first: ${first}) { edges { node { id replies(first: ${first}) { edges { node { id text } } } } } } }`;
    for (const [query, variables] of [
      [nested('100'), {}],
      [nested('$n'), { n: 100 }],
    ] as const) {
      const result = await stack.query(query, variables, { token });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', maxCost: 25_000 });
      expect(result.errors?.[0]?.message).toMatch(/^The operation would cost about \d+, over the limit of 25000/);
      expect(result.data).toBeUndefined();
    }
    expect(stack.sqlStatements()).toBe(before);
    // The same document with small pages is fine.
    ok(await stack.query(nested('$n'), { n: 5 }, { token }));
  });

  it('should serve a feed screen: 20 threads with their authors and 3 reply previews each', async () => {
    const token = await stack.login('alice');
    const screen = `query FeedScreen($first: Int = 20, $previews: Int = 3) {
      feed(first: $first) {
        edges { cursor node { id text createdAt likeCount replyCount viewerHasLiked
          author { username bio followedByViewer user { fullName isVerified status { emoji text } } }
          replies(first: $previews) { edges { node { id text createdAt likeCount author { username user { fullName isVerified } } } }
            pageInfo { hasNextPage } } } }
        pageInfo { hasNextPage endCursor } } }`;
    expect(ok(await stack.query(screen, {}, { token })).feed.edges.length).toBeGreaterThan(0);
  });

  it('should apply the same limits to operations over WebSocket', async () => {
    const deep = `subscription { directMessageReceived { sender { threadsProfile { threads { edges { node { replies { edges { node { author { user { followers { edges { node { id } } } } } } } } } } } } } } }`;
    const client = stack.wsClient(await stack.login('alice'));
    const error = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: deep }, { next: () => {}, error: resolve, complete: () => resolve(undefined) });
    });
    expect(JSON.stringify(error)).toMatch(/depth/i);
    // Each event of a subscription is completed like a query of its selection: its cost is limited alike.
    const costly = `subscription Costly($n: Int) { directMessageReceived { sender { threadsProfile {
      threads(first: $n) { edges { node { replies(first: $n) { edges { node { id text } } } } } } } } } }`;
    const refusal = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: costly, variables: { n: 100 } },
        { next: () => {}, error: resolve, complete: () => resolve(undefined) },
      );
    });
    expect(refusal).toMatchObject([{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED', maxCost: 25_000 } }]);
  });

  it('should still serve the deepest operations real clients send', async () => {
    const token = await stack.login('alice');
    ok(
      await stack.query(
        `{ inbox(first: 5) { edges { node { participants { username threadsProfile { username } }
            messages(last: 5) { edges { node { text sender { username } reactions { emoji user { username } } seenBy { username } } } } } } } }`,
        {},
        { token },
      ),
    );
  });
});
