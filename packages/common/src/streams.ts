// Durable, ordered event streams between services: Redis Streams or in-process, behind one interface.
import { createClient } from 'redis';
import { closeRedisClient } from './pubsub.js';

/** One entry of a durable stream. `id` orders entries within the stream. */
export interface StreamEntry<T> {
  id: string;
  event: T;
}

/**
 * An append-only, ordered log of events between services (Redis Streams when `REDIS_URL` is set, in-process
 * otherwise). Consumers keep their own position and read from it, so an event appended before a read is always seen
 * by that read.
 */
export interface EventStream {
  /** Appends an event at the end of `stream`; resolves with its id once it is stored. */
  append(stream: string, event: unknown): Promise<string>;
  /** Entries strictly after `afterId` (all of them when null), oldest first, at most `count`. */
  read<T>(stream: string, afterId: string | null, count: number): Promise<StreamEntry<T>[]>;
  /** Resolves when the back end answers (readiness). */
  ping(): Promise<void>;
  /** Releases the connection (in-process: forgets every entry). */
  close(): Promise<void>;
}

/** In-process stream. Ids carry the process's start time so a position saved by an earlier run is recognised as stale. */
export function createMemoryEventStream(): EventStream {
  const epoch = Date.now();
  const logs = new Map<string, StreamEntry<unknown>[]>();
  return {
    async append(stream, event) {
      const log = logs.get(stream) ?? [];
      logs.set(stream, log);
      const id = `${epoch}-${log.length + 1}`;
      log.push({ id, event: JSON.parse(JSON.stringify(event)) });
      return id;
    },
    async read<T>(stream: string, afterId: string | null, count: number) {
      const log = (logs.get(stream) ?? []) as StreamEntry<T>[];
      const [idEpoch, seq] = (afterId ?? '').split('-').map(Number);
      const start = idEpoch === epoch && seq !== undefined ? seq : 0;
      return log.slice(start, start + count);
    },
    async ping() {},
    async close() {
      logs.clear();
    },
  };
}

/** Redis Streams: XADD to append, XRANGE with an exclusive start to read. Keys carry the mandatory prefix. */
export async function createRedisEventStream(
  url: string,
  prefix: string,
  onError: (error: unknown) => void = () => {},
): Promise<EventStream> {
  if (!prefix) throw new Error('createRedisEventStream: expected a non-empty key prefix, got ""');
  // Commands fail at once while Redis is unreachable instead of queueing: the outbox keeps what could not be
  // appended, and a request that needs to catch up fails instead of hanging.
  const client = createClient({ url, disableOfflineQueue: true });
  client.on('error', onError);
  await client.connect();
  return {
    async append(stream, event) {
      return client.xAdd(`${prefix}${stream}`, '*', { event: JSON.stringify(event) });
    },
    async read<T>(stream: string, afterId: string | null, count: number) {
      const entries = await client.xRange(`${prefix}${stream}`, afterId ? `(${afterId}` : '-', '+', { COUNT: count });
      return (entries ?? []).map((entry) => ({ id: entry.id, event: JSON.parse(String(entry.message.event)) as T }));
    },
    async ping() {
      await client.ping();
    },
    async close() {
      await closeRedisClient(client);
    },
  };
}

/** Opens a Redis stream when `redisUrl` is set, in-process otherwise. */
export async function openEventStream(
  redisUrl: string | undefined,
  prefix: string,
  onError?: (error: unknown) => void,
): Promise<EventStream> {
  return redisUrl ? createRedisEventStream(redisUrl, prefix, onError) : createMemoryEventStream();
}
