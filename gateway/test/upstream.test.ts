/** The gateway's subgraph WebSockets: a subscription ends when a subgraph stops answering its handshake or pings. */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createGatewayContext } from '../src/context.js';
import { UpstreamPool } from '../src/upstream.js';

const SECRET = 'upstream-test-gateway-secret-0123456789-0123456789';
const servers: WebSocketServer[] = [];

afterEach(async () => {
  for (const server of servers) for (const client of server.clients) client.terminate();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A subgraph that accepts connections but, as a hung host would, stops answering at `silentFrom`. */
async function silentSubgraph(silentFrom: 'handshake' | 'pings'): Promise<string> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(server);
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_init' && silentFrom === 'pings')
        socket.send(JSON.stringify({ type: 'connection_ack' }));
      // Subscriptions get no events and pings no pongs.
    });
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}/graphql`;
}

describe('upstream connections', () => {
  for (const silentFrom of ['handshake', 'pings'] as const) {
    it(`should end the subscription when the subgraph stops answering its ${silentFrom}`, async () => {
      const gateway = createGatewayContext(null, SECRET);
      const upstream = new UpstreamPool({ messaging: await silentSubgraph(silentFrom) }, gateway, {
        pingMs: 50,
        answerMs: 200,
      });
      const query = 'subscription { directMessageReceived { id } }';
      const events = upstream.subscribe('messaging', { query }, gateway);
      expect((await events.next()).kind).toBe('error');
      await upstream.dispose();
    });
  }
});
