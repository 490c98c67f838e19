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

export interface RedisPubSubOptions {
  url: string;
  /** Prepended to every channel so that two deployments sharing a Redis never hear each other. Required. */
  prefix: string;
  onError?: (error: unknown) => void;
}

/**
 * Closes a Redis connection: gracefully (pending replies first) while Redis answers, at once otherwise, so shutting
 * down never waits for a Redis that is away.
 */
export async function closeRedisClient(client: { isReady: boolean; close(): Promise<void>; destroy(): void }): Promise<void> {
  if (client.isReady) await client.close().catch(() => client.destroy());
  else client.destroy();
}

/** Redis pub/sub with separate publishing and subscribing connections, as Redis requires. */
export async function createRedisPubSub({ url, prefix, onError = () => {} }: RedisPubSubOptions): Promise<PubSub> {
  if (!prefix) throw new Error('createRedisPubSub: expected a non-empty channel prefix, got ""');
  // Publishing fails at once while Redis is unreachable instead of queueing: a sender must not hang after its message
  // is committed (subscribers replay what they missed). Subscribing waits for the connection to come back.
  const publisher = createClient({ url, disableOfflineQueue: true });
  const subscriber = publisher.duplicate({ disableOfflineQueue: false });
  publisher.on('error', onError);
  subscriber.on('error', onError);
  await Promise.all([publisher.connect(), subscriber.connect()]);
  // From now on, 'ready' means reconnected; node-redis restores the subscriptions before it says so.
  const reconnectListeners = new Set<() => void>();
  subscriber.on('ready', () => reconnectListeners.forEach((listener) => listener()));
  return {
    async publish(channel, payload) {
      await publisher.publish(`${prefix}${channel}`, JSON.stringify(payload));
    },
    async subscribe(channel, listener) {
      let listening = true;
      const handler = (encoded: string) => {
        if (listening) listener(JSON.parse(encoded));
      };
      await subscriber.subscribe(`${prefix}${channel}`, handler);
      return async () => {
        listening = false;
        if (!subscriber.isOpen) return;
        const unsubscribed = subscriber.unsubscribe(`${prefix}${channel}`, handler);
        // While Redis is away the command waits in the queue; the listener already hears nothing, so leaving (and
        // shutting down) need not wait for Redis to come back.
        if (subscriber.isReady) await unsubscribed;
        else unsubscribed.catch(onError);
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
export async function openPubSub(redisUrl: string | undefined, prefix: string, onError?: (error: unknown) => void): Promise<PubSub> {
  return redisUrl ? createRedisPubSub({ url: redisUrl, prefix, ...(onError ? { onError } : {}) }) : createMemoryPubSub();
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
