/**
 * Memory per live subscriber, gateway and subgraphs apart: the subgraphs run in one child process, the gateway in
 * another, and this process opens SUBSCRIBERS client sockets (one subscription each) through the gateway. Each child
 * is measured after a full GC before and after, and the difference is divided by the subscribers.
 *
 *   npx tsx --conditions=source bench/subscriber-memory.ts      (SUBSCRIBERS=1000 by default)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger, signUserToken } from '@igt/common';
import { createGateway } from '@igt/gateway';
import { startStack } from '../scripts/stack.js';

const GATEWAY_SECRET = 'bench-gateway-secret-0123456789-0123456789';
const JWT_SECRET = 'bench-jwt-secret-0123456789-0123456789-0123';
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 1_000);
const BATCH = 100;

/** What a child reports when asked to measure: its memory after a full GC, and what Messaging holds. */
interface Measurement {
  heapUsed: number;
  /** Memory outside the JS heap that JS objects hold: socket buffers among it. */
  external: number;
  rss: number;
  messagingSockets?: number;
  messagingSubscriptions?: number;
}

/** Collects garbage until the heap stops shrinking, then reads the process's memory. */
async function settledMemory(): Promise<Pick<Measurement, 'heapUsed' | 'external' | 'rss'>> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('expected node --expose-gc');
  for (let round = 0; round < 4; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { heapUsed, external, rss } = process.memoryUsage();
  return { heapUsed, external, rss };
}

/** A child process: answers `measure` messages with a Measurement. */
function answerMeasurements(extra: () => Promise<Partial<Measurement>> = async () => ({})) {
  process.on('message', (message) => {
    if (message !== 'measure') return;
    void (async () => process.send!({ ...(await extra()), ...(await settledMemory()) }))();
  });
}

const role = process.argv[2] ?? 'driver';

if (role === 'subgraphs') {
  const stack = await startStack({
    redisPrefix: `igt-memory-${process.pid}:`,
    ports: { gateway: 0, instagram: 0, threads: 0, messaging: 0 },
    host: '127.0.0.1',
    jwtSecret: JWT_SECRET,
    gatewaySecret: GATEWAY_SECRET,
    jwtTtlSeconds: 3_600,
    introspection: false,
    logLevel: 'warn',
    seed: false,
  });
  answerMeasurements(async () => ({
    messagingSockets: stack.subgraphs.messaging.openSockets(),
    messagingSubscriptions: (await stack.subgraphs.messaging.metrics.activeSubscriptions.get()).values[0]?.value ?? 0,
  }));
  process.send!({ subgraphUrls: stack.subgraphUrls });
} else if (role === 'gateway') {
  const subgraphUrls = JSON.parse(process.argv[3]!) as Record<string, string>;
  const gateway = await createGateway({
    subgraphUrls,
    jwtSecret: JWT_SECRET,
    gatewaySecret: GATEWAY_SECRET,
    logger: createLogger('gateway', 'warn'),
    maxSocketsPerAddress: SUBSCRIBERS * 2,
  });
  const http = await gateway.listen(0, '127.0.0.1');
  answerMeasurements();
  process.send!({ url: `${http.url}/graphql` });
} else {
  const self = fileURLToPath(import.meta.url);
  const start = (args: string[]) =>
    fork(self, args, { execArgv: ['--expose-gc', '--conditions=source', '--import', 'tsx'], stdio: 'inherit' });
  const first = <T>(child: ChildProcess) => new Promise<T>((resolve) => child.once('message', (m) => resolve(m as T)));
  const measure = (child: ChildProcess) => {
    const answer = first<Measurement>(child);
    child.send('measure');
    return answer;
  };

  const subgraphs = start(['subgraphs']);
  const { subgraphUrls } = await first<{ subgraphUrls: Record<string, string> }>(subgraphs);
  const gateway = start(['gateway', JSON.stringify(subgraphUrls)]);
  const { url } = await first<{ url: string }>(gateway);

  const clients: Client[] = [];
  const failures: string[] = [];
  /**
   * Opens `count` client sockets with one subscription each, and waits until Messaging runs all but those that
   * failed. In batches, as clients arrive over time: thousands of upgrades at once would time out handshakes.
   */
  const open = async (count: number, expected: number): Promise<void> => {
    if (count > BATCH) {
      await open(count - BATCH, expected - BATCH);
      count = BATCH;
    }
    for (let i = 0; i < count; i++) {
      const id = String(100_000 + clients.length);
      const token = await signUserToken({ id, username: `mem${id}` }, JWT_SECRET, 3_600);
      const client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
      });
      client.subscribe(
        { query: 'subscription { directMessageReceived { id text } }' },
        {
          next: (result) => {
            if (result.errors) failures.push(JSON.stringify(result.errors));
          },
          error: (error) => failures.push(String(error)),
          complete: () => {},
        },
      );
      clients.push(client);
    }
    for (;;) {
      const { messagingSubscriptions } = await measure(subgraphs);
      // A subscription that failed is counted and reported rather than waited for.
      if (messagingSubscriptions === expected - failures.length) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };

  // Warm up (code compiled, pools and caches filled), then close again.
  await open(20, 20);
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  failures.length = 0;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const [gatewayBefore, subgraphsBefore] = [await measure(gateway), await measure(subgraphs)];
  await open(SUBSCRIBERS, SUBSCRIBERS);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const [gatewayAfter, subgraphsAfter] = [await measure(gateway), await measure(subgraphs)];

  // Per subscriber that is running (failed ones hold nothing), in KiB.
  const running = SUBSCRIBERS - failures.length;
  const kib = (after: Measurement, before: Measurement, key: 'heapUsed' | 'external') =>
    ((after[key] - before[key]) / 1024 / running).toFixed(1).padStart(9);
  const row = (name: string, after: Measurement, before: Measurement) =>
    console.log(`${name.padEnd(22)} ${kib(after, before, 'heapUsed')} ${kib(after, before, 'external')}`);
  console.log(`subscribers running: ${running}; gateway→Messaging sockets: ${subgraphsAfter.messagingSockets}`);
  if (failures.length) console.log(`${failures.length} subscriptions failed, e.g. ${failures[0]}`);
  // RSS is left out: what the allocator keeps or returns after a GC swamps a few KiB per subscriber.
  console.log('per subscriber (KiB)   heap used  external');
  row('gateway', gatewayAfter, gatewayBefore);
  row('subgraphs (Messaging)', subgraphsAfter, subgraphsBefore);
  await Promise.all(clients.map((client) => client.dispose()));
  gateway.kill();
  subgraphs.kill();
}
