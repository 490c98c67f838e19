// A TCP proxy for fault tests: it stands between the gateway and a subgraph and can pass, refuse or hang traffic.
import { createServer, connect, type Server, type Socket } from 'node:net';

/** What the proxy does with traffic: forward it, drop every connection, or accept and never answer. */
export type ProxyMode = 'pass' | 'refuse' | 'hang';

/** A running proxy: point a gateway's subgraph URL at `url(path)`. */
export interface FaultProxy {
  /** The proxy's URL with the target's path, e.g. http://127.0.0.1:1234/graphql. */
  url: string;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Client connections open now. */
  readonly open: number;
  /** Switches mode; `refuse` also cuts every open connection, as a killed subgraph would. */
  set(mode: ProxyMode): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free port in front of `target` (an http URL whose host, port and path it keeps). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const { hostname, port, pathname } = new URL(target);
  let mode: ProxyMode = 'pass';
  let connections = 0;
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections += 1;
    sockets.add(client);
    clients.add(client);
    client.once('close', () => {
      sockets.delete(client);
      clients.delete(client);
    });
    client.on('error', () => {});
    if (mode === 'refuse') return void client.destroy();
    if (mode === 'hang') return; // read nothing, answer nothing
    const upstream = connect(Number(port), hostname);
    sockets.add(upstream);
    upstream.once('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('expected a TCP address');
  return {
    url: `http://127.0.0.1:${address.port}${pathname}`,
    get connections() {
      return connections;
    },
    get open() {
      return clients.size;
    },
    set(next) {
      mode = next;
      if (next === 'refuse') for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
