// @defer through the gateway: incremental multipart responses, as Apollo Client 4 and raw HTTP clients read them.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@igt/common';
import { startFaultProxy } from './support/faultProxy.js';
import { startHoldingProxy } from './support/holdingProxy.js';
import { eventually, ok, startExtraGateway, startStack, type TestStack } from './support/harness.js';

let stack: TestStack;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
  stack = await startStack();
});

afterEach(async () => {
  for (const dispose of cleanup.splice(0).reverse()) await dispose();
});

afterAll(async () => {
  await stack?.close();
});

/** What Apollo Client 4 sends for an operation with @defer when its incremental handler is Defer20220824Handler. */
const APOLLO_CLIENT_ACCEPT =
  'multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9';

/** The README's profile query with the threads deferred. */
const PROFILE_THREADS_DEFERRED = /* GraphQL */ `
  query Profile($username: String!) {
    profile(username: $username) {
      username
      bio
      followerCount
      user {
        fullName
        followerCount
        isVerified
      }
      ... @defer(label: "threads") {
        threads(first: 3) {
          edges {
            node {
              text
              likeCount
              replyCount
            }
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
      }
      messageAction {
        label
        mutation
        inbox
        enabled
        disabledReason
        recipient {
          id
          username
        }
      }
    }
  }
`;

/** The body parts of a multipart/mixed response (boundary `-`), parsed as each one arrives whole. */
async function* multipartParts(response: Response): AsyncGenerator<any> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    // A part is whole once the delimiter after it has arrived; JSON bodies hold no raw CRLF.
    for (;;) {
      const start = buffer.indexOf('\r\n---');
      const end = start === -1 ? -1 : buffer.indexOf('\r\n---', start + 5);
      if (end === -1) break;
      const part = buffer.slice(start + 5, end);
      buffer = buffer.slice(end);
      yield JSON.parse(part.slice(part.indexOf('\r\n\r\n') + 4));
    }
  }
}

/** POSTs a query to `url` accepting multipart (Apollo Client's Accept header unless `accept` says otherwise). */
function post(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  { token, accept = APOLLO_CLIENT_ACCEPT }: { token?: string; accept?: string } = {},
) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
}

/** Sends a deferred query and reads its whole multipart response. */
async function deferred(query: string, variables: Record<string, unknown> = {}, options: { token?: string } = {}) {
  const response = await post(stack.gatewayUrl, query, variables, options);
  expect(response.headers.get('content-type')).toBe('multipart/mixed; boundary="-"; deferSpec=20220824');
  expect(response.headers.get('x-request-id')).toBeTruthy();
  const parts: any[] = [];
  for await (const part of multipartParts(response)) parts.push(part);
  return parts;
}

/** The result a client assembles from the parts: each payload's data merged in at its path. */
function assembled(parts: any[]): any {
  const merge = (target: any, source: any): any => {
    if (!source || typeof source !== 'object') return source;
    const out = Array.isArray(source) ? [...(target ?? [])] : { ...target };
    for (const [key, value] of Object.entries(source)) out[key as any] = merge(target?.[key], value);
    return out;
  };
  const [initial, ...rest] = parts;
  let data = initial.data;
  for (const part of rest) {
    for (const { data: payload, path } of part.incremental ?? []) {
      const wrapped = [...path].reverse().reduce((inner: any, key: string | number) => {
        const outer: any = typeof key === 'number' ? [] : {};
        outer[key] = inner;
        return outer;
      }, payload);
      data = merge(data, wrapped);
    }
  }
  return data;
}

/** The same query without its @defers, through the gateway in one response. */
async function whole(query: string, variables: Record<string, unknown> = {}, token?: string) {
  return ok(await stack.query(query.replace(/@defer(\([^)]*\))?/g, ''), variables, { token }));
}

describe('@defer through the gateway', () => {
  it('should render the profile header first and the threads after with Apollo Client 4', async () => {
    // The deferred threads fetch is held until the client has rendered the header: no timing decides the order.
    const proxy = await startHoldingProxy(stack.subgraphUrls.threads, (body) => body.includes('threads(first'));
    cleanup.push(() => proxy.close());
    const gateway = await startExtraGateway(stack, { subgraphUrls: { ...stack.subgraphUrls, threads: proxy.url } });
    cleanup.push(() => gateway.stop());
    const client = new ApolloClient({
      link: new HttpLink({ uri: gateway.url, headers: { authorization: `Bearer ${await stack.login('bob')}` } }),
      cache: new InMemoryCache(),
      incrementalHandler: new Defer20220824Handler(),
    });
    cleanup.push(() => client.stop());

    const results: any[] = [];
    const subscription = client
      .watchQuery({ query: gql(PROFILE_THREADS_DEFERRED), variables: { username: 'alice' } })
      .subscribe({ next: (result) => results.push(result) });
    cleanup.push(() => subscription.unsubscribe());

    await eventually(() => results.some((result) => result.data?.profile));
    const header = results.find((result) => result.data?.profile);
    expect(header.dataState).toBe('streaming');
    expect(header.data.profile).toMatchObject({
      username: 'alice',
      user: { fullName: expect.any(String) },
      messageAction: { label: 'Message', mutation: 'sendDirectMessage', inbox: 'INSTAGRAM', enabled: true },
    });
    expect(header.data.profile.threads).toBeUndefined();
    // Whenever the held fetch arrives, the client rendered the header without it.
    await eventually(() => proxy.held === 1);

    proxy.release();
    await eventually(() => results.at(-1)?.dataState === 'complete');
    const complete = results.at(-1);
    expect(complete.data.profile.username).toBe('alice');
    expect(complete.data.profile.threads.edges.length).toBeGreaterThan(0);
    expect(complete.data.profile.threads.edges[0].node).toMatchObject({ text: expect.any(String) });
  });

  it('should send the primary part as multipart with hasNext, then the deferred fragment at its path with its label', async () => {
    const parts = await deferred(PROFILE_THREADS_DEFERRED, { username: 'alice' });
    const wholeResult = await whole(PROFILE_THREADS_DEFERRED, { username: 'alice' });
    expect(parts).toHaveLength(2);
    const [initial, rest] = parts;
    expect(initial.hasNext).toBe(true);
    expect(initial.errors).toBeUndefined();
    const { threads, ...header } = wholeResult.profile;
    expect(initial.data).toEqual({ profile: header });
    expect(rest).toEqual({ incremental: [{ data: { threads }, path: ['profile'], label: 'threads' }], hasNext: false });
  });

  it('should send no payload for a deferred fragment whose object is null, and still end with hasNext false', async () => {
    const parts = await deferred(`{ profile(username: "nobody_here") { username ... @defer { bio } } }`);
    expect(parts).toEqual([{ data: { profile: null }, hasNext: true }, { hasNext: false }]);
  });

  it('should answer the Accept header in its quoted form and in Apollo Client 3 form', async () => {
    for (const accept of ['multipart/mixed; deferSpec="20220824"', 'multipart/mixed;deferSpec=20220824']) {
      const response = await post(stack.gatewayUrl, PROFILE_THREADS_DEFERRED, { username: 'alice' }, { accept });
      expect(response.headers.get('content-type')).toBe('multipart/mixed; boundary="-"; deferSpec=20220824');
      const parts: any[] = [];
      for await (const part of multipartParts(response)) parts.push(part);
      expect(parts.map((part) => part.hasNext)).toEqual([true, false]);
    }
  });

  it('should send the primary part before a deferred subgraph fetch has finished, fetching the primary data once', async () => {
    const proxy = await startHoldingProxy(stack.subgraphUrls.threads, (body) => body.includes('threads(first'));
    cleanup.push(() => proxy.close());
    const gateway = await startExtraGateway(stack, { subgraphUrls: { ...stack.subgraphUrls, threads: proxy.url } });
    cleanup.push(() => gateway.stop());

    const response = await post(gateway.url, PROFILE_THREADS_DEFERRED, { username: 'alice' });
    const parts = multipartParts(response);
    const first = await parts.next();
    expect(first.value).toMatchObject({ data: { profile: { username: 'alice' } }, hasNext: true });
    // The deferred fetch cannot finish before it is released: the primary part did not wait for it.
    await eventually(() => proxy.held === 1);
    proxy.release();
    const second = await parts.next();
    expect(second.value).toMatchObject({ incremental: [{ path: ['profile'], label: 'threads' }], hasNext: false });
    expect(second.value.incremental[0].errors).toBeUndefined();
    expect(second.value.incremental[0].data.threads.edges.length).toBeGreaterThan(0);
    expect((await parts.next()).done).toBe(true);
    // The deferred part reused the primary part's profile fetch rather than asking Threads for it again.
    expect(proxy.bodies.filter((body) => body.includes('profile(username'))).toHaveLength(1);
  });

  it('should send a deferred fragment in a list once per item, with its index in the path and no label when none was given', async () => {
    const query = /* GraphQL */ `
      query Feed {
        feed(first: 3) {
          edges {
            node {
              id
              text
              ... @defer {
                likeCount
                author {
                  username
                }
              }
            }
          }
        }
      }
    `;
    const token = await stack.login('bob');
    const parts = await deferred(query, {}, { token });
    const edges = parts[0].data.feed.edges;
    expect(edges.length).toBeGreaterThan(1);
    expect(edges[0].node.likeCount).toBeUndefined();
    const payloads = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(payloads.map((payload: any) => payload.path)).toEqual(
      edges.map((_edge: unknown, index: number) => ['feed', 'edges', index, 'node']),
    );
    expect(payloads.every((payload: any) => !('label' in payload))).toBe(true);
    expect(assembled(parts)).toEqual(await whole(query, {}, token));
  });

  it('should send a nested deferred fragment after the one around it', async () => {
    const query = /* GraphQL */ `
      query Nested($username: String!) {
        profile(username: $username) {
          username
          ... @defer(label: "threads") {
            threads(first: 2) {
              edges {
                node {
                  text
                  ... @defer(label: "author") {
                    author {
                      user {
                        fullName
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    `;
    const parts = await deferred(query, { username: 'alice' });
    const payloads = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(payloads[0]).toMatchObject({ label: 'threads', path: ['profile'] });
    expect(payloads[0].data.threads.edges[0].node.author).toBeUndefined();
    const authors = payloads.slice(1);
    expect(authors.length).toBeGreaterThan(0);
    expect(authors.every((payload: any) => payload.label === 'author')).toBe(true);
    expect(authors[0].path).toEqual(['profile', 'threads', 'edges', 0, 'node']);
    expect(parts.at(-1).hasNext).toBe(false);
    expect(assembled(parts)).toEqual(await whole(query, { username: 'alice' }));
  });

  it('should defer a named fragment, and a fragment on the query root, each at its own path', async () => {
    const query = /* GraphQL */ `
      query Spread($username: String!) {
        ... @defer(label: "feed") {
          feed(first: 2) {
            edges {
              node {
                text
              }
            }
          }
        }
        profile(username: $username) {
          username
          ...Account @defer(label: "account")
        }
      }
      fragment Account on Profile {
        user {
          fullName
          followerCount
        }
      }
    `;
    const token = await stack.login('bob');
    const parts = await deferred(query, { username: 'alice' }, { token });
    expect(parts[0]).toEqual({ data: { profile: { username: 'alice' } }, hasNext: true });
    const payloads = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(payloads.map((payload: any) => [payload.label, payload.path]).sort()).toEqual([
      ['account', ['profile']],
      ['feed', []],
    ]);
    expect(assembled(parts)).toEqual(await whole(query, { username: 'alice' }, token));
  });

  it("should keep the primary part when a deferred part's subgraph is down, with the coded error in that part", async () => {
    const proxy = await startFaultProxy(stack.subgraphUrls.threads);
    cleanup.push(() => proxy.close());
    const logs: string[] = [];
    const gateway = await startExtraGateway(stack, {
      subgraphUrls: { ...stack.subgraphUrls, threads: proxy.url },
      logger: createLogger('gateway', 'info', { write: (line: string) => void logs.push(line) }),
    });
    cleanup.push(() => gateway.stop());
    proxy.set('refuse');

    const query = `{ viewer { username ... @defer(label: "threads") { threadsProfile { bio } } } }`;
    const response = await post(gateway.url, query, {}, { token: await stack.login('bob') });
    const parts: any[] = [];
    for await (const part of multipartParts(response)) parts.push(part);
    expect(parts[0]).toEqual({ data: { viewer: { username: 'bob' } }, hasNext: true });
    expect(parts[1]).toMatchObject({
      incremental: [{ data: { threadsProfile: null }, path: ['viewer'], label: 'threads' }],
      hasNext: false,
    });
    expect(parts[1].incremental[0].errors.map((error: any) => error.extensions.code)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    // The request's log line covers the primary part; one more says how the deferred parts went.
    const requestId = response.headers.get('x-request-id');
    const lines = logs.map((line) => JSON.parse(line)).filter((line) => line.requestId === requestId);
    expect(lines.find((line) => line.msg === 'graphql operation')).toMatchObject({ outcome: 'ok' });
    expect(lines.find((line) => line.msg === 'deferred parts sent')).toMatchObject({
      outcome: 'SUBGRAPH_UNAVAILABLE',
      errorCodes: ['SUBGRAPH_UNAVAILABLE'],
    });
  });

  it('should refuse an invalid deferred query with the coded errors of any query', async () => {
    const cases = [
      [`{ profile(username: "alice") { username ... @defer { nope } } }`, 'GRAPHQL_VALIDATION_FAILED'],
      [`{ profile(username: "alice") { username @defer } }`, 'GRAPHQL_VALIDATION_FAILED'],
      [`{ profile(username: "alice") { ... @defer(if: "yes") { username } } }`, 'GRAPHQL_VALIDATION_FAILED'],
      [`query($u: String!) { profile(username: $u) { ... @defer { username } } }`, 'BAD_USER_INPUT'],
      [
        `{ profile(username: "a") { ... @defer(label: "x") { bio } ... @defer(label: "x") { id } } }`,
        'GRAPHQL_VALIDATION_FAILED',
      ],
      [`query($l: String) { profile(username: "a") { ... @defer(label: $l) { bio } } }`, 'GRAPHQL_VALIDATION_FAILED'],
    ] as const;
    for (const [query, code] of cases) {
      const response = await post(stack.gatewayUrl, query);
      expect(response.status).toBe(400);
      const body = (await response.json()) as any;
      expect(body.errors[0].extensions.code, query).toBe(code);
    }
    const tooDeep = `{ viewer { ... @defer { ${'threadsProfile { user { '.repeat(8)} username ${'} } '.repeat(8)} } } }`;
    const deep = (await (await post(stack.gatewayUrl, tooDeep)).json()) as any;
    expect(deep.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(deep.errors[0].message).toMatch(/depth/i);
    const unsigned = await post(stack.gatewayUrl, PROFILE_THREADS_DEFERRED, { username: 'alice' }, { token: 'nope' });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('should execute @defer(if: false) inline, in one JSON response', async () => {
    const query = /* GraphQL */ `
      query Profile($defer: Boolean!) {
        profile(username: "alice") {
          username
          ... @defer(if: false) {
            bio
          }
          ... @defer(if: $defer) {
            followerCount
          }
        }
      }
    `;
    const response = await post(stack.gatewayUrl, query, { defer: false });
    expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    const body = (await response.json()) as any;
    const inline = await whole(`{ profile(username: "alice") { username bio followerCount } }`);
    expect(body).toEqual({ data: inline });

    // With `if: $defer` true, only that fragment is deferred.
    const parts = await deferred(query, { defer: true });
    expect(parts[0].data.profile.bio).toEqual(expect.any(String));
    expect(parts[0].data.profile.followerCount).toBeUndefined();
    expect(parts[1].incremental[0].data).toEqual({ followerCount: expect.any(Number) });
  });

  it('should answer whole, in one JSON response, what it cannot split: @defer within introspection, a fragment bomb', async () => {
    const introspection = await post(stack.gatewayUrl, '{ __schema { queryType { name ... @defer { name } } } }');
    expect(introspection.status).toBe(200);
    expect(await introspection.json()).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    // 20 spreads of 20 spreads of 20 spreads of 20: 160,000 selections once inlined, from a few hundred bytes.
    const fragments = [0, 1, 2, 3].map((level) => `fragment F${level} on Query { ${`...F${level + 1} `.repeat(20)}}`);
    const bomb = `query Bomb { ...F0 @defer } ${fragments.join(' ')} fragment F4 on Query { __typename }`;
    const response = await post(stack.gatewayUrl, bomb);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('should refuse introspection within a deferred fragment, with or without multipart', async () => {
    for (const accept of [APOLLO_CLIENT_ACCEPT, 'application/json']) {
      const response = await post(
        stack.gatewayUrl,
        '{ __typename ... @defer { __schema { queryType { name } } } }',
        {},
        { accept },
      );
      expect(response.status, accept).toBe(400);
      expect(await response.json(), accept).toMatchObject({
        errors: [
          { message: expect.stringMatching(/cannot be deferred/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
        ],
      });
    }
  });

  it('should answer a client that does not accept multipart with the whole result in one JSON response', async () => {
    const response = await post(
      stack.gatewayUrl,
      PROFILE_THREADS_DEFERRED,
      { username: 'alice' },
      {
        accept: 'application/json',
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ data: await whole(PROFILE_THREADS_DEFERRED, { username: 'alice' }) });
  });
});
