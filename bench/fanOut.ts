/**
 * The fan-out scenario: thousands of live `directMessageReceived` subscriptions (the README's, with fields from every
 * subgraph) on one gateway process, spread over recipients who each hold several sockets (devices), then DMs to them
 * at a steady rate. Measures deliveries per second, send → receive latency, the gateway's (and, when it runs as a
 * process, Messaging's) memory per subscriber, and the connections the gateway holds to Messaging.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Deployment } from './deployment.js';
import { NEW_MESSAGES } from './documents.js';
import { openLoop, progress, quantile, send, type Result } from './measure.js';
import { bearer, dm, type Person } from './people.js';

/** What the scenario is asked to do. */
export interface FanOutOptions {
  subscribers: number;
  socketsPerRecipient: number;
  /** Deliveries per second to aim at: DMs are sent at this rate divided by `socketsPerRecipient`. */
  deliveriesPerSecond: number;
  seconds: number;
}

/** What it measured. */
export interface FanOutResult {
  sends: Result;
  expected: number;
  /** Sockets whose subscription was live (had its warm-up DM) when the measurement began. */
  live: number;
  delivered: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  /** Bytes per subscriber after garbage collection: heap used and resident set. */
  gatewayHeap: number;
  gatewayRss: number;
  messagingHeap: number | undefined;
  messagingRss: number | undefined;
  connectionsBefore: number;
  connectionsAfter: number;
  /** Subscriptions that ended in an error (a socket the gateway closed, an error in an event), and the first. */
  subscriptionFailures: number;
  firstSubscriptionFailure: string | undefined;
}

/** Sockets being opened at once: enough to be quick, few enough that the gateway's handshakes rarely time out. */
const OPENING_AT_ONCE = 25;
/** Tries at opening one socket before the scenario gives up. */
const OPEN_ATTEMPTS = 5;
/** How long deliveries may trail the last send before the scenario stops waiting for them. */
const DRAIN_MS = 15_000;
/** Rounds of warm-up DMs in a row that reach no new socket before the scenario gives up, and the wait after each. */
const WARM_UP_STALLS = 3;
const WARM_UP_WAIT_MS = 3_000;
/** Pause before a subscription that ended in an error is started again. */
const RESUBSCRIBE_MS = 200;
/** Warm-up DMs in flight at once: few, so the warm-up does not swamp the gateway that is still taking subscriptions. */
const WARM_UP_AT_ONCE = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` holds, checking every 50 ms; false when `timeoutMs` passed first. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Runs the scenario: `senders` send to `recipients`, who hold `options.subscribers` sockets between them. */
export async function fanOut(
  deployment: Deployment,
  senders: Person[],
  recipients: Person[],
  options: FanOutOptions,
): Promise<FanOutResult> {
  const gateway = deployment.fanOutGateway;
  const wsUrl = gateway.url.replace(/^http/, 'ws');
  // Sends through this gateway first, so its memory before the subscriptions holds what any traffic sets up (plans,
  // connection pools) and the difference is what the subscriptions cost.
  for (const [i, sender] of senders.entries()) {
    await send('fan-out gateway warm-up', dm(gateway.url, sender, recipients[i % recipients.length]!, 'before'));
  }
  const before = await gateway.memory();
  const messagingBefore = await deployment.messagingMemory?.();
  const connectionsBefore = gateway.connectionsToMessaging();

  /**
   * The one person who sends to each recipient: the warm-up opens their conversation, so what is measured is DMs to
   * conversations that exist (the send scenario measures those too), the traffic a live inbox mostly carries.
   */
  const senderOf = (recipient: number) => senders[recipient % senders.length]!;
  // Each text says which send it was: `warm` before the measurement, `fan <n>` during it.
  const dueOf = new Map<number, number>();
  const latencies: number[] = [];
  /** Which recipient each socket is for, and the sockets that have had a warm-up DM. */
  const owners = Array.from({ length: options.subscribers }, (_, socket) => socket % recipients.length);
  const warm = new Set<number>();
  let lastArrival = 0;
  const failures: unknown[] = [];
  const onMessage = (socket: number, text: string) => {
    const now = performance.now();
    if (text === 'warm') warm.add(socket);
    const due = dueOf.get(Number(text.slice('fan '.length)));
    if (text.startsWith('fan ') && due !== undefined) {
      latencies.push(now - due);
      lastArrival = now;
    }
  };

  const clients: Client[] = [];
  let disposing = false;
  /** Opens subscriber `socket`: its connection, then its subscription. A handshake the busy gateway timed out is retried. */
  const open = async (socket: number) => {
    const recipient = recipients[owners[socket]!]!;
    for (let attempt = 1; ; attempt++) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: bearer(recipient.token),
      });
      let opened = false;
      const outcome = new Promise<string | undefined>((resolve) => {
        client.on('connected', () => resolve(undefined));
        client.on('closed', (event) => {
          const { code, reason } = event as { code?: number; reason?: string };
          resolve(`${code} ${reason}`);
        });
      });
      // As a client following the README would: a subscription that ends while its socket is open is started again.
      const subscribe = (): void =>
        void client.subscribe(
          { query: NEW_MESSAGES },
          {
            next: (result) => {
              if (result.errors) failures.push(result.errors);
              else onMessage(socket, (result.data as any).directMessageReceived.text);
            },
            error: (error) => {
              if (!opened || disposing) return;
              failures.push(error);
              // A closed socket ends its subscription with the CloseEvent; only an error in an open one is retried.
              if (!(error && typeof error === 'object' && 'code' in error)) setTimeout(subscribe, RESUBSCRIBE_MS);
            },
            complete: () => {},
          },
        );
      subscribe();
      const closed = await outcome;
      if (closed === undefined) {
        opened = true;
        clients.push(client);
        return;
      }
      await client.dispose();
      if (attempt === OPEN_ATTEMPTS)
        throw new Error(
          `fan-out: subscriber ${socket}'s socket closed ${attempt} times while opening, last with ${closed}`,
        );
    }
  };
  let nextSocket = 0;
  await Promise.all(
    Array.from({ length: OPENING_AT_ONCE }, async () => {
      for (let socket = nextSocket++; socket < options.subscribers; socket = nextSocket++) await open(socket);
    }),
  );

  // The server does not acknowledge a subscription: a DM to each recipient, delivered to every one of their sockets,
  // shows they are all live (and warms every path up). A socket may join its upstream subscription after the DM was
  // published, so recipients with a socket still waiting get another, until every socket has had one.
  for (let round = 1, stalled = 0; warm.size < options.subscribers; round++) {
    const liveBefore = warm.size;
    const cold = [...new Set(owners.filter((_, socket) => !warm.has(socket)))];
    let next = 0;
    await Promise.all(
      Array.from({ length: WARM_UP_AT_ONCE }, async () => {
        for (let i = next++; i < cold.length; i = next++) {
          const recipient = cold[i]!;
          // One that fails (times out on a busy machine) just leaves its recipient for the next round.
          await send('fan-out warm-up', dm(gateway.url, senderOf(recipient), recipients[recipient]!, 'warm')).catch(
            () => undefined,
          );
        }
      }),
    );
    await until(() => warm.size >= options.subscribers, WARM_UP_WAIT_MS);
    progress(`fan-out: ${warm.size} of ${options.subscribers} sockets live after warm-up round ${round}`);
    // Subscriptions may take long to start on a busy machine: give up only when rounds stop making progress.
    stalled = warm.size > liveBefore ? 0 : stalled + 1;
    if (stalled === WARM_UP_STALLS) break;
  }
  // Sockets that never went live (their subscription failed; see subscriptionFailures) are left out of what is expected.
  const liveOf = (recipient: number) =>
    owners.filter((owner, socket) => owner === recipient && warm.has(socket)).length;
  const livePerRecipient = recipients.map((_, recipient) => liveOf(recipient));
  const after = await gateway.memory();
  const messagingAfter = await deployment.messagingMemory?.();
  const connectionsAfter = gateway.connectionsToMessaging();

  const sendRate = options.deliveriesPerSecond / options.socketsPerRecipient;
  const sends = await openLoop(
    'fan-out sends',
    sendRate,
    options.seconds,
    (n) => {
      const recipient = n % recipients.length;
      return dm(gateway.url, senderOf(recipient), recipients[recipient]!, `fan ${n}`);
    },
    (n, due) => dueOf.set(n, due),
  );
  // A send that timed out at the gateway may still have been stored, and delivered: expect every one attempted.
  const attempted = sends.count + sends.errors;
  const expected = Array.from({ length: attempted }, (_, n) => livePerRecipient[n % recipients.length]!).reduce(
    (sum, live) => sum + live,
    0,
  );
  await until(() => latencies.length >= expected, DRAIN_MS);
  const firstDue = Math.min(...dueOf.values());
  disposing = true;
  await Promise.all(clients.map((client) => client.dispose()));

  latencies.sort((a, b) => a - b);
  const perSubscriber = (a: number, b: number) => (b - a) / options.subscribers;
  return {
    sends,
    expected,
    live: warm.size,
    delivered: latencies.length,
    deliveriesPerSecond: latencies.length / ((lastArrival - firstDue) / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    gatewayHeap: perSubscriber(before.heapUsed, after.heapUsed),
    gatewayRss: perSubscriber(before.rss, after.rss),
    messagingHeap:
      messagingBefore && messagingAfter && perSubscriber(messagingBefore.heapUsed, messagingAfter.heapUsed),
    messagingRss: messagingBefore && messagingAfter && perSubscriber(messagingBefore.rss, messagingAfter.rss),
    connectionsBefore,
    connectionsAfter,
    subscriptionFailures: failures.length,
    firstSubscriptionFailure: failures.length ? JSON.stringify(failures[0]) : undefined,
  };
}
