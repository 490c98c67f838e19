// An HTTP proxy for ordering tests: it stands between the gateway and a subgraph and holds back chosen requests.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running proxy: point a gateway's subgraph URL at `url`. */
export interface HoldingProxy {
  url: string;
  /** Every request body forwarded or held so far, in arrival order. */
  readonly bodies: readonly string[];
  /** Requests held back now. */
  readonly held: number;
  /** Forwards the held requests and every later one. */
  release(): void;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a proxy on a free port in front of `target` that holds each request whose body `holds` picks until `release`. */
export async function startHoldingProxy(target: string, holds: (body: string) => boolean): Promise<HoldingProxy> {
  const bodies: string[] = [];
  let held = 0;
  let released = false;
  let release!: () => void;
  const releasing = new Promise<void>((resolve) => (release = resolve));
  const server = createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      bodies.push(body);
      if (!released && holds(body)) {
        held += 1;
        await releasing;
        held -= 1;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (entry): entry is [string, string] =>
            typeof entry[1] === 'string' && !['host', 'connection', 'content-length'].includes(entry[0]),
        ),
      );
      const answer = await fetch(target, { method: 'POST', headers, body });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(await answer.text());
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${new URL(target).pathname}`,
    get bodies() {
      return bodies;
    },
    get held() {
      return held;
    },
    release() {
      released = true;
      release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        released = true;
        release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
