/** The gateway keeps its subgraph sockets vouched for: a fresh assertion in a ping, as often as it signs one. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { GATEWAY_ASSERTION_PARAM, GATEWAY_ASSERTION_REFRESH_MS, verifyGatewayAssertion } from '@igt/common';
import { createGatewayContext } from '../src/context.js';
import { UpstreamConnections } from '../src/upstream.js';

const SECRET = 'upstream-assertion-test-secret-0123456789-0123456789';
const servers: WebSocketServer[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const server of servers) for (const client of server.clients) client.terminate();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

type Message = { type: string; payload?: Record<string, unknown> };

/** A subgraph that acknowledges connections and records every message the gateway sends it. */
async function recordingSubgraph(messages: Message[]): Promise<string> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(server);
  server.on('connection', (socket) => {
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
  it('should send the subgraph a fresh assertion in a ping every GATEWAY_ASSERTION_REFRESH_MS', async () => {
    // Only the refresh interval is faked: sockets and graphql-ws run on real timeouts.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], shouldAdvanceTime: true });
    const messages: Message[] = [];
    const upstream = new UpstreamConnections(
      { messaging: await recordingSubgraph(messages) },
      createGatewayContext({ id: '3', username: 'carol' }, SECRET),
    );
    const events = upstream.subscribe('messaging', { query: 'subscription { directMessageReceived { id } }' });
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
    await expect(verifyGatewayAssertion(two, SECRET)).resolves.toMatchObject({
      viewer: { id: '3', username: 'carol' },
    });
    events.close();
    await upstream.dispose();
  });
});
