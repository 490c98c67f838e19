/** Pub/sub for live notifications, in memory or on Redis behind one interface: at-most-once, reconnects reported. */
import { EventEmitter } from 'node:events';
import { createClient } from 'redis';
import type { Metrics } from './metrics.js';

/** Stops one subscription. */
export type Unsubscribe = () => Promise<void>;

/**
 * Fire-and-forget fan-out of JSON events between service instances. Delivery is at-most-once: anything that must
 * not be lost is committed to the database first and replayed from there (see the Messaging subscription).
 */
export interface PubSub {
  publish(channel: string, payload: unknown): Promise<void>;
  subscribe(channel: string, listener: (payload: unknown) => void): Promise<Unsubscribe>;
  /**
   * Calls `listener` each time the subscribing connection is back after being lost (its subscriptions restored):
   * whatever was published meanwhile was missed, so listeners that must not miss anything re-read their source.
   * Returns the function that stops calling it.
   */
  onReconnect(listener: () => void): () => void;
  /** Resolves when the back end answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** In-process pub/sub: the default when the whole stack runs in one process. */
export function createMemoryPubSub(): PubSub {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(channel, payload) {
      // Each listener gets its own copy, as it would from Redis.
      const encoded = JSON.stringify(payload);
      emitter.emit(channel, encoded);
    },
    async subscribe(channel, listener) {
      const handler = (encoded: string) => listener(JSON.parse(encoded));
      emitter.on(channel, handler);
      return async () => {
        emitter.off(channel, handler);
      };
    },
    // In one process nothing is ever disconnected.
    onReconnect: () => () => {},
    async ping() {},
    async close() {
      emitter.removeAllListeners();
    },
  };
}

/** Where `createRedisPubSub` connects, and where it reports the connection errors it rides out rather than throws. */
export interface RedisPubSubOptions {
  url: string;
  /** Prepended to every channel so that two deployments sharing a Redis never hear each other. Required. */
  prefix: string;
  onError?: (error: unknown) => void;
}

/** How long shutting down or leaving waits for Redis to answer before going on without it. */
const REDIS_WAIT_MS = 2_000;

/** Waits for `promise` (ignoring its failure) at most `ms`: for things that should finish but must not block. */
async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * Closes a Redis connection: gracefully (pending replies first) while Redis answers, then at once whatever is left,
 * so shutting down never waits long for a Redis that is away.
 */
export async function closeRedisClient(client: {
  isReady: boolean;
  isOpen: boolean;
  close(): Promise<void>;
  destroy(): void;
}): Promise<void> {
  if (client.isReady) await atMost(client.close(), REDIS_WAIT_MS);
  if (client.isOpen) client.destroy();
}

/** Announcements held while Redis is unreachable, at most; the oldest go first (subscribers re-read on reconnect). */
const MAX_UNSENT = 10_000;

/**
 * Redis pub/sub with separate publishing and subscribing connections, as Redis requires.
 *
 * Redis being away for a while loses nothing a subscriber needs: a publish that cannot be sent is kept in memory and
 * sent, in order, once the publisher is connected again (and never makes its caller wait), and subscribers are told
 * when their own connection is back (`onReconnect`) so they can re-read what they may have missed.
 */
export async function createRedisPubSub({ url, prefix, onError = () => {} }: RedisPubSubOptions): Promise<PubSub> {
  if (!prefix) throw new Error('createRedisPubSub: expected a non-empty channel prefix, got ""');
  const publisher = createClient({ url, disableOfflineQueue: true });
  const subscriber = publisher.duplicate({ disableOfflineQueue: false });
  publisher.on('error', onError);
  subscriber.on('error', onError);
  await Promise.all([publisher.connect(), subscriber.connect()]);

  const unsent: [channel: string, message: string][] = [];
  let flushing = false;
  const keep = (channel: string, message: string) => {
    if (unsent.push([channel, message]) > MAX_UNSENT) unsent.shift();
  };
  const flush = async () => {
    if (flushing) return;
    flushing = true;
    try {
      while (unsent.length && publisher.isReady) {
        await publisher.publish(...unsent[0]!);
        unsent.shift();
      }
    } catch (error) {
      onError(error);
    } finally {
      flushing = false;
    }
  };
  // From now on 'ready' means connected again; node-redis restores the subscriptions before it says so.
  publisher.on('ready', () => void flush());
  const reconnectListeners = new Set<() => void>();
  subscriber.on('ready', () => reconnectListeners.forEach((listener) => listener()));

  return {
    async publish(channel, payload) {
      const key = `${prefix}${channel}`;
      const message = JSON.stringify(payload);
      // Behind earlier unsent ones, to keep the order; straight out (pipelined with other publishes) otherwise.
      if (!unsent.length && publisher.isReady) {
        try {
          await publisher.publish(key, message);
          return;
        } catch (error) {
          onError(error);
        }
      }
      keep(key, message);
      void flush();
    },
    async subscribe(channel, listener) {
      let listening = true;
      const handler = (encoded: string) => {
        if (listening) listener(JSON.parse(encoded));
      };
      await subscriber.subscribe(`${prefix}${channel}`, handler);
      return async () => {
        listening = false;
        // The listener already hears nothing; telling Redis may wait for a connection that is away.
        if (subscriber.isOpen) await atMost(subscriber.unsubscribe(`${prefix}${channel}`, handler), REDIS_WAIT_MS);
      };
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    async ping() {
      await publisher.ping();
    },
    async close() {
      await Promise.all([closeRedisClient(publisher), closeRedisClient(subscriber)]);
    },
  };
}

/** Opens Redis pub/sub when `redisUrl` is set, in-process otherwise. */
export async function openPubSub(
  redisUrl: string | undefined,
  prefix: string,
  onError?: (error: unknown) => void,
): Promise<PubSub> {
  return redisUrl
    ? createRedisPubSub({ url: redisUrl, prefix, ...(onError ? { onError } : {}) })
    : createMemoryPubSub();
}

/** Counts what `pubsub` publishes and delivers in `metrics`. */
export function instrumentPubSub(pubsub: PubSub, metrics: Metrics): PubSub {
  return {
    async publish(channel, payload) {
      await pubsub.publish(channel, payload);
      metrics.published.inc();
    },
    subscribe: (channel, listener) =>
      pubsub.subscribe(channel, (payload) => {
        metrics.delivered.inc();
        listener(payload);
      }),
    onReconnect: (listener) => pubsub.onReconnect(listener),
    ping: () => pubsub.ping(),
    close: () => pubsub.close(),
  };
}
