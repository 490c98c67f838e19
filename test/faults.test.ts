// The gateway under subgraph faults: a subgraph that dies mid-stream or hangs costs no live DM and hangs no request.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { NEW_MESSAGES } from './support/documents.js';
import { mutualPair, sendDm } from './support/dms.js';
import { createLogger, openSqlClient } from '@igt/common';
import { startFaultProxy } from './support/faultProxy.js';
import {
  eventually,
  ok,
  startExtraGateway,
  startStack,
  type GraphQLResponse,
  type TestStack,
} from './support/harness.js';

let stack: TestStack;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await startStack();
});

afterEach(async () => {
  for (const dispose of cleanup.splice(0).reverse()) await dispose();
});

afterAll(async () => {
  await stack?.close();
});

/** A gateway whose way to `subgraph` runs through a fault proxy; both are stopped after the test. */
async function gatewayWithProxy(
  subgraph: keyof TestStack['subgraphUrls'],
  options: Parameters<typeof startExtraGateway>[1] = {},
) {
  const proxy = await startFaultProxy(stack.subgraphUrls[subgraph]);
  cleanup.push(() => proxy.close());
  const gateway = await startExtraGateway(stack, {
    subgraphUrls: { ...stack.subgraphUrls, [subgraph]: proxy.url },
    ...options,
  });
  cleanup.push(() => gateway.stop());
  return { proxy, gateway };
}

/**
 * Follows the README's resume pattern: on any end, subscribe again with `after` = the last id received. Returns the
 * texts received in order and the error codes that ended each subscription.
 */
function resumingSubscriber(client: Client) {
  const texts: string[] = [];
  const endCodes: unknown[] = [];
  let lastId: string | undefined;
  let stopped = false;
  const again = () => {
    if (!stopped) setTimeout(listen, 50);
  };
  function listen() {
    client.subscribe<{ directMessageReceived: { id: string; text: string } }>(
      { query: NEW_MESSAGES, variables: { after: lastId } },
      {
        next: ({ data, errors }) => {
          // The gateway ends a subscription with a last result holding only the error that says why.
          if (errors) endCodes.push(...errors.map((error) => error.extensions?.code));
          if (!data) return;
          lastId = data.directMessageReceived.id;
          texts.push(data.directMessageReceived.text);
        },
        error: again,
        complete: again,
      },
    );
  }
  listen();
  cleanup.push(async () => {
    stopped = true;
  });
  return { texts, endCodes };
}

describe('live DMs through a subgraph fault', () => {
  it('should end the subscription with a resumable SUBGRAPH_UNAVAILABLE instead of skipping a DM it cannot complete', async () => {
    const { proxy, gateway } = await gatewayWithProxy('instagram');
    const [a, b] = await mutualPair(stack);
    const received = resumingSubscriber(gateway.wsClient(b.token));
    await stack.liveSubscriptions(1);
    await sendDm(stack, a, b.id, 'one');
    await eventually(() => received.texts.length === 1);

    // Instagram (which resolves `sender`) dies while the next DM arrives.
    proxy.set('refuse');
    await sendDm(stack, a, b.id, 'two');
    await eventually(() => received.endCodes.includes('SUBGRAPH_UNAVAILABLE'));
    expect(received.texts).toEqual(['one']);

    // It comes back: the resumed subscription delivers the DM it could not complete, once, then live ones.
    proxy.set('pass');
    await eventually(() => received.texts.length === 2);
    await stack.liveSubscriptions(1);
    await sendDm(stack, a, b.id, 'three');
    await eventually(() => received.texts.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.texts).toEqual(['one', 'two', 'three']);
  });

  it('should deliver the event when the other subgraph comes back within the retry pauses, without ending the subscription', async () => {
    const { proxy, gateway } = await gatewayWithProxy('instagram');
    const [a, b] = await mutualPair(stack);
    const received = resumingSubscriber(gateway.wsClient(b.token));
    await stack.liveSubscriptions(1);
    proxy.set('refuse');
    await sendDm(stack, a, b.id, 'through a blip');
    setTimeout(() => proxy.set('pass'), 100);
    await eventually(() => received.texts.length === 1);
    expect(received.texts).toEqual(['through a blip']);
    expect(received.endCodes).toEqual([]);
  });
});

describe('a hung subgraph', () => {
  it('should answer with the healthy subgraphs data and a coded error once the subgraph timeout passes', async () => {
    const logs: string[] = [];
    const { proxy, gateway } = await gatewayWithProxy('instagram', {
      subgraphTimeoutMs: 500,
      logger: createLogger('gateway', 'info', { write: (line: string) => void logs.push(line) }),
    });
    proxy.set('hang');
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{ profile(username: "alice") { username bio } user(username: "alice") { username } }',
      }),
      signal: AbortSignal.timeout(20_000),
    });
    const result = await response.json();
    expect(result.data.profile).toEqual({ username: 'alice', bio: expect.any(String) });
    expect(result.data.user).toBeNull();
    expect(result.errors[0].extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'instagram' });
    expect(result.errors[0].message).toMatch(/did not answer/);
    expect(logs.some((line) => line.includes('"subgraph":"instagram"') && line.includes('timed out'))).toBe(true);
  });

  it('should end a subscription whose subgraph accepts the connection and never answers the handshake', async () => {
    const { proxy, gateway } = await gatewayWithProxy('messaging', { subgraphTimeoutMs: 500 });
    const [, b] = await mutualPair(stack);
    proxy.set('hang');
    const codes: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      gateway.wsClient(b.token).subscribe(
        { query: NEW_MESSAGES },
        {
          next: ({ errors }) => codes.push(...(errors ?? []).map((error) => error.extensions?.code)),
          error: reject,
          complete: resolve,
        },
      );
    });
    expect(codes).toEqual(['SUBGRAPH_UNAVAILABLE']);
  });
});

describe('subgraph health', () => {
  it('should call a subgraph that sends headers and then stalls unavailable, on the internal listener only', async () => {
    const stalling = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(' '); // and never more
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () => new Promise<void>((resolve) => (stalling.closeAllConnections(), stalling.close(() => resolve()))),
    );
    const { port } = stalling.address() as AddressInfo;
    const gateway = await startExtraGateway(stack, {
      subgraphUrls: { ...stack.subgraphUrls, threads: `http://127.0.0.1:${port}/graphql` },
    });
    cleanup.push(() => gateway.stop());
    const response = await fetch(new URL('/health/subgraphs', gateway.internalUrl));
    expect(response.status).toBe(503);
    const body = (await response.json()) as { subgraphs: Record<string, { status: string; reason?: string }> };
    expect(body.subgraphs.threads).toMatchObject({
      status: 'unavailable',
      reason: expect.stringMatching(/no whole answer/),
    });
    expect(body.subgraphs.instagram).toEqual({ status: 'ok' });
  });
});

describe('connections to subgraphs', () => {
  it('should open at most the configured number of connections to a subgraph however many requests wait', async () => {
    const { proxy, gateway } = await gatewayWithProxy('threads', { maxSubgraphConnections: 4 });
    const results = await Promise.all(
      Array.from({ length: 60 }, () =>
        fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ profile(username: "bob") { username } }' }),
        }).then((response) => response.json() as Promise<GraphQLResponse>),
      ),
    );
    for (const result of results) expect(ok(result).profile.username).toBe('bob');
    expect(proxy.connections).toBeGreaterThan(0);
    expect(proxy.connections).toBeLessThanOrEqual(4);
  });
});

describe.runIf(process.env.DATABASE_URL)('PostgreSQL away', () => {
  it('should stop start-up with how to create the database when DATABASE_URL names one that does not exist', async () => {
    const missing = Object.assign(new URL(process.env.DATABASE_URL!), { pathname: '/no_such_database_here' });
    const sql = await openSqlClient({ databaseUrl: missing.toString() });
    cleanup.push(() => sql.close());
    await expect(
      sql.migrate({ migrationsFolder: 'subgraphs/messaging/drizzle', service: 'messaging' }),
    ).rejects.toThrow(
      /"no_such_database_here", which does not exist on that server: create it first \(`createdb no_such_database_here`/,
    );
  });

  it('should fail a transaction whose connection drops, not the process', async () => {
    const database = new URL(process.env.DATABASE_URL!);
    const proxy = await startFaultProxy(`http://${database.hostname}:${database.port || 5432}/`);
    cleanup.push(() => proxy.close());
    const sql = await openSqlClient({
      databaseUrl: Object.assign(new URL(database), { host: new URL(proxy.url).host }).toString(),
    });
    cleanup.push(() => sql.close());
    const db = sql.db({});
    const transaction = db.transaction(async (tx) => {
      await tx.execute('select 1');
      proxy.set('refuse');
      await tx.execute('select pg_sleep(1)');
    });
    await expect(transaction).rejects.toThrow();
    proxy.set('pass');
    await eventually(
      async () =>
        await db.execute('select 1').then(
          () => true,
          () => false,
        ),
    );
  });

  it('should refuse a send with the retryable SERVICE_UNAVAILABLE, store nothing, and take the same send once it is back', async () => {
    const database = new URL(process.env.DATABASE_URL!);
    const proxy = await startFaultProxy(`http://${database.hostname}:${database.port || 5432}/`);
    cleanup.push(() => proxy.close());
    const viaProxy = await startStack({ databaseAddress: new URL(proxy.url).host });
    cleanup.push(() => viaProxy.close());
    const [a, b] = await mutualPair(viaProxy);
    const send = () =>
      viaProxy.query(
        'mutation ($to: ID!) { sendDirectMessage(input: { recipientId: $to, text: "while the database is away", idempotencyKey: "pg-away-1" }) { message { id } } }',
        { to: b.id },
        { token: a.token },
      );
    proxy.set('refuse');
    const refused = await send();
    expect(refused.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.errors?.[0]?.message).toMatch(/try again/);
    proxy.set('pass');
    let sent: GraphQLResponse | undefined;
    await eventually(async () => !(sent = await send()).errors);
    const history = ok(
      await viaProxy.query(
        '{ inbox { edges { node { messages(last: 10) { edges { node { id text } } } } } } }',
        {},
        { token: b.token },
      ),
    );
    const texts = history.inbox.edges.flatMap((edge: any) =>
      edge.node.messages.edges.map((message: any) => message.node.text),
    );
    expect(texts).toEqual(['while the database is away']);
    expect(sent?.data?.sendDirectMessage.message.id).toBeDefined();
  });
});
