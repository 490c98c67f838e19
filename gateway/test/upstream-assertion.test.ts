/** The gateway's shared subgraph sockets: vouched for as the gateway, each subscription signed for its own viewer. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import {
  GATEWAY_ASSERTION_PARAM,
  GATEWAY_ASSERTION_REFRESH_MS,
  MAX_BODY_BYTES,
  REQUEST_ID_PARAM,
  verifyGatewayAssertion,
} from '@igt/common';
import { createGatewayContext } from '../src/context.js';
import { SocketSubscriptions, UpstreamPool } from '../src/upstream.js';

const SECRET = 'upstream-assertion-test-secret-0123456789-0123456789';
const servers: WebSocketServer[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const server of servers) for (const client of server.clients) client.terminate();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

type Message = { type: string; id?: string; payload?: Record<string, unknown> };

const QUERY = 'subscription { directMessageReceived { id } }';

/** A subgraph that acknowledges connections and records every message the gateway sends it, and each connection. */
async function recordingSubgraph(messages: Message[], connections: unknown[] = []): Promise<string> {
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
    const connections: unknown[] = [];
    const upstream = new UpstreamPool(
      { messaging: await recordingSubgraph(messages, connections) },
      createGatewayContext(null, SECRET),
      undefined,
      3,
    );
    const sockets = Array.from(
      { length: 12 },
      (_, index) =>
        new SocketSubscriptions(
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
});
