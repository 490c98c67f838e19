/** The gateway's shared subgraph sockets: vouched for as the gateway, each subscription signed for its own viewer. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  GATEWAY_ASSERTION_PARAM,
  GATEWAY_ASSERTION_REFRESH_MS,
  MAX_BODY_BYTES,
  REQUEST_ID_PARAM,
  verifyGatewayAssertion,
} from '@igt/common';
import { createGatewayContext } from '../src/context.js';
import { ClientSubscriptions, UpstreamPool } from '../src/upstream.js';

const SECRET = 'upstream-assertion-test-secret-0123456789-0123456789';
const servers: WebSocketServer[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const server of servers) for (const client of server.clients) client.terminate();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

type Message = {
  type: string;
  id?: string;
  payload?: Record<string, unknown> & { extensions?: Record<string, unknown> };
};

const QUERY = 'subscription { directMessageReceived { id } }';

/**
 * A subgraph that acknowledges connections and records every message the gateway sends it, and each connection (the
 * sockets, to answer on).
 */
async function recordingSubgraph(messages: Message[], connections: WebSocket[] = []): Promise<string> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(server);
  server.on('connection', (socket) => {
    connections.push(socket);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Message;
      messages.push(message);
      if (message.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
    });
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}/graphql`;
}

describe('upstream connections and the assertion', () => {
  it("should send the subgraph a fresh gateway's assertion in a ping every GATEWAY_ASSERTION_REFRESH_MS", async () => {
    // Only the refresh interval is faked: sockets and graphql-ws run on real timeouts.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], shouldAdvanceTime: true });
    const messages: Message[] = [];
    const upstream = new UpstreamPool(
      { messaging: await recordingSubgraph(messages) },
      createGatewayContext(null, SECRET),
    );
    const events = upstream.subscribe(
      'messaging',
      { query: QUERY },
      createGatewayContext({ id: '3', username: 'carol' }, SECRET),
    );
    await vi.waitFor(() => expect(messages.map((message) => message.type)).toContain('subscribe'));
    const first = messages.find((message) => message.type === 'connection_init')!.payload![GATEWAY_ASSERTION_PARAM];

    for (let refresh = 1; refresh <= 2; refresh++) {
      await vi.advanceTimersByTimeAsync(GATEWAY_ASSERTION_REFRESH_MS);
      await vi.waitFor(() => expect(messages.filter((message) => message.type === 'ping')).toHaveLength(refresh));
    }
    const [one, two] = messages
      .filter((message) => message.type === 'ping')
      .map((ping) => ping.payload![GATEWAY_ASSERTION_PARAM] as string);
    expect(new Set([first, one, two]).size).toBe(3);
    // The connection speaks for the gateway, never for one of the viewers whose subscriptions share it.
    await expect(verifyGatewayAssertion(two, SECRET)).resolves.toEqual({ viewer: null, clientAddress: null });
    events.close();
    await upstream.dispose();
  });

  it("should carry each subscription's own viewer and request id, signed, in its extensions", async () => {
    const messages: Message[] = [];
    const upstream = new UpstreamPool(
      { messaging: await recordingSubgraph(messages) },
      createGatewayContext(null, SECRET),
      undefined,
      1,
    );
    const viewers = [
      createGatewayContext({ id: '1', username: 'alice' }, SECRET, {
        clientAddress: '10.0.0.1',
        requestId: 'request-a1',
      }),
      createGatewayContext({ id: '2', username: 'bob' }, SECRET, {
        clientAddress: '10.0.0.2',
        requestId: 'request-b2',
      }),
    ];
    const events = viewers.map((viewer) => upstream.subscribe('messaging', { query: QUERY }, viewer));
    await vi.waitFor(() => expect(messages.filter((message) => message.type === 'subscribe')).toHaveLength(2));
    const signed = await Promise.all(
      messages
        .filter((message) => message.type === 'subscribe')
        .map(async (message) => {
          const extensions = message.payload!.extensions as Record<string, unknown>;
          const assertion = await verifyGatewayAssertion(extensions[GATEWAY_ASSERTION_PARAM] as string, SECRET);
          return { ...assertion, requestId: extensions[REQUEST_ID_PARAM] };
        }),
    );
    // Each subscribe is signed on its own, so the two may reach the socket in either order.
    expect(signed.sort((a, b) => String(a.requestId).localeCompare(String(b.requestId)))).toEqual([
      { viewer: { id: '1', username: 'alice' }, clientAddress: '10.0.0.1', requestId: 'request-a1' },
      { viewer: { id: '2', username: 'bob' }, clientAddress: '10.0.0.2', requestId: 'request-b2' },
    ]);
    events.forEach((subscription) => subscription.close());
    await upstream.dispose();
  });

  it('should spread subscriptions over at most the pool size of connections per subgraph', async () => {
    const messages: Message[] = [];
    const connections: WebSocket[] = [];
    const upstream = new UpstreamPool(
      { messaging: await recordingSubgraph(messages, connections) },
      createGatewayContext(null, SECRET),
      undefined,
      3,
    );
    const sockets = Array.from(
      { length: 12 },
      (_, index) =>
        new ClientSubscriptions(
          upstream,
          createGatewayContext({ id: String(index + 1), username: `u${index}` }, SECRET),
        ),
    );
    for (const socket of sockets) socket.subscribe('messaging', { query: QUERY });
    await vi.waitFor(() => expect(messages.filter((message) => message.type === 'subscribe')).toHaveLength(12));
    expect(connections).toHaveLength(3);
    expect(messages.filter((message) => message.type === 'connection_init')).toHaveLength(3);

    // One client leaving completes its own subscription upstream, and nobody else's.
    sockets[0]!.dispose();
    await vi.waitFor(() => expect(messages.filter((message) => message.type === 'complete')).toHaveLength(1));
    const completed = messages.find((message) => message.type === 'complete')!;
    const subscribed = messages.find((message) => message.type === 'subscribe' && message.id === completed.id)!;
    const extensions = subscribed.payload!.extensions as Record<string, unknown>;
    await expect(verifyGatewayAssertion(extensions[GATEWAY_ASSERTION_PARAM] as string, SECRET)).resolves.toMatchObject({
      viewer: { id: '1' },
    });
    sockets.forEach((socket) => socket.dispose());
    await upstream.dispose();
  });

  it('should fail a subscription too large for the subgraph alone, without sending it', async () => {
    const messages: Message[] = [];
    const upstream = new UpstreamPool(
      { messaging: await recordingSubgraph(messages) },
      createGatewayContext(null, SECRET),
    );
    const viewer = createGatewayContext({ id: '1', username: 'alice' }, SECRET);
    const small = upstream.subscribe('messaging', { query: QUERY }, viewer);
    const large = upstream.subscribe(
      'messaging',
      { query: QUERY, variables: { after: 'x'.repeat(MAX_BODY_BYTES) } },
      viewer,
    );
    const ended = await large.next();
    expect(ended).toMatchObject({ kind: 'error', error: [{ extensions: { code: 'BAD_REQUEST' } }] });
    await vi.waitFor(() => expect(messages.filter((message) => message.type === 'subscribe')).toHaveLength(1));
    small.close();
    await upstream.dispose();
  });

  it("should share one subgraph subscription among one viewer's subscriptions from now on, and no one else's", async () => {
    const messages: Message[] = [];
    const connections: WebSocket[] = [];
    const upstream = new UpstreamPool(
      { messaging: await recordingSubgraph(messages, connections) },
      createGatewayContext(null, SECRET),
    );
    // Three sockets of alice's (each its own context), one of bob's, and one of alice's that may not share.
    const alice = (requestId: string) => createGatewayContext({ id: '1', username: 'alice' }, SECRET, { requestId });
    const subscribes = () => messages.filter((message) => message.type === 'subscribe');
    const alices = ['a1', 'a2', 'a3'].map((id) => upstream.subscribe('messaging', { query: QUERY }, alice(id), true));
    const bob = createGatewayContext({ id: '2', username: 'bob' }, SECRET, { requestId: 'b' });
    const bobs = upstream.subscribe('messaging', { query: QUERY }, bob, true);
    const unshared = upstream.subscribe('messaging', { query: QUERY }, alice('own'));
    await vi.waitFor(() => expect(subscribes()).toHaveLength(3));
    const requestIds = subscribes().map((message) => message.payload!.extensions![REQUEST_ID_PARAM]);
    expect(requestIds.sort()).toEqual(['a1', 'b', 'own']);
    const alicesId = subscribes().find((message) => message.payload!.extensions![REQUEST_ID_PARAM] === 'a1')!.id;

    // One event from the subgraph reaches every subscription sharing it, as the same object.
    connections[0]!.send(JSON.stringify({ type: 'next', id: alicesId, payload: { data: { n: 1 } } }));
    const received = await Promise.all(alices.map((events) => events.next()));
    expect(received.map((item) => item.kind === 'event' && item.event.data)).toEqual(Array(3).fill({ n: 1 }));
    expect(new Set(received.map((item) => item.kind === 'event' && item.event)).size).toBe(1);

    // The subgraph subscription stays while one of them runs, and ends with the last.
    alices[0]!.close();
    alices[1]!.close();
    const completes = () => messages.filter((message) => message.type === 'complete');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(completes()).toHaveLength(0);
    alices[2]!.close();
    await vi.waitFor(() => expect(completes().map((message) => message.id)).toEqual([alicesId]));
    // A new one starts afresh.
    const again = upstream.subscribe('messaging', { query: QUERY }, alice('a4'), true);
    await vi.waitFor(() => expect(subscribes()).toHaveLength(4));
    for (const events of [bobs, unshared, again]) events.close();
    await upstream.dispose();
  });
});
