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
 *
 * Trimming: the stream itself is where consumers report how far they have applied it (`acknowledge`), since a
 * producer may not read a consumer's tables. Entries go once every consumer of a fixed, known set has acknowledged
 * them, so a consumer that is down holds trimming back instead of losing events; there is no cap, and while it stays
 * down the stream grows by one entry per event. Trimming happens inside `acknowledge`, which a consumer calls after
 * each batch it commits: nothing runs on a timer, and a catch-up that finds nothing new costs nothing more. A position
 * older than what was trimmed cannot be read from: `read` throws `StreamPositionTrimmedError` rather than silently
 * skipping the entries that are gone.
 */
export interface EventStream {
  /** Appends an event at the end of `stream`; resolves with its id once it is stored. */
  append(stream: string, event: unknown): Promise<string>;
  /**
   * Entries strictly after `afterId` (all of them when null), oldest first, at most `count`. Throws
   * `StreamPositionTrimmedError` when entries after `afterId` have been trimmed.
   */
  read<T>(stream: string, afterId: string | null, count: number): Promise<StreamEntry<T>[]>;
  /**
   * Records that `consumer` has applied every entry up to `id` (a position never moves back), then removes the entries
   * that every one of `consumers` has acknowledged; none while one of them has never acknowledged. Call it only once
   * the entries are applied for good (committed). Resolves with how many entries the stream still holds.
   */
  acknowledge(stream: string, consumer: string, id: string, consumers: readonly string[]): Promise<number>;
  /** How many entries `stream` holds (appended and not yet trimmed). */
  length(stream: string): Promise<number>;
  /** Resolves when the back end answers (readiness). */
  ping(): Promise<void>;
  /** Releases the connection (in-process: forgets every entry). */
  close(): Promise<void>;
}

/**
 * A read from a position whose following entries were trimmed: the consumer missed events it can no longer get. Only
 * a consumer outside the known set (or one whose stored position went back, e.g. a database restored from an old
 * backup) can meet it, since trimming waits for every known consumer. Its projection then refuses every request that
 * depends on it; getting the missed facts back means rebuilding it from the producer's own tables, which is not
 * automated.
 */
export class StreamPositionTrimmedError extends Error {
  constructor(stream: string, afterId: string | null, trimmedThrough: string) {
    super(
      `cannot read stream "${stream}" after ${afterId ?? 'its start'}: entries up to ${trimmedThrough} were trimmed, ` +
        'so the events in between are gone; the consumer needs a position at or after it',
    );
    this.name = 'StreamPositionTrimmedError';
  }
}

/** A stream id (`<ms>-<seq>`) as two numbers, so ids compare by value rather than as text. */
const idParts = (id: string): [number, number] => {
  const [ms = 0, seq = 0] = id.split('-').map(Number);
  return [ms, seq];
};

/** Whether stream id `a` comes before `b`. */
const isBefore = (a: string, b: string): boolean => {
  const [[aMs, aSeq], [bMs, bSeq]] = [idParts(a), idParts(b)];
  return aMs < bMs || (aMs === bMs && aSeq < bSeq);
};

/**
 * In-process stream. Ids carry the process's start time so a position saved by an earlier run is recognised as stale:
 * it reads this run's entries from the start, unless some of them were trimmed already.
 */
export function createMemoryEventStream(): EventStream {
  const epoch = Date.now();
  /** Per stream: the entries not trimmed yet, how many were trimmed before them, and each consumer's position. */
  const logs = new Map<string, { entries: StreamEntry<unknown>[]; trimmed: number; positions: Map<string, number> }>();
  const logOf = (stream: string) => {
    const log = logs.get(stream) ?? { entries: [], trimmed: 0, positions: new Map<string, number>() };
    logs.set(stream, log);
    return log;
  };
  /** The sequence number an id of this run carries; 0 (before every entry) for null or an id of an earlier run. */
  const sequenceOf = (id: string | null) => {
    const [idEpoch, seq] = idParts(id ?? '0-0');
    return idEpoch === epoch ? seq : 0;
  };
  return {
    async append(stream, event) {
      const log = logOf(stream);
      const id = `${epoch}-${log.trimmed + log.entries.length + 1}`;
      log.entries.push({ id, event: JSON.parse(JSON.stringify(event)) });
      return id;
    },
    async read<T>(stream: string, afterId: string | null, count: number) {
      const log = logOf(stream);
      const seq = sequenceOf(afterId);
      if (seq < log.trimmed) throw new StreamPositionTrimmedError(stream, afterId, `${epoch}-${log.trimmed}`);
      const start = seq - log.trimmed;
      return log.entries.slice(start, start + count) as StreamEntry<T>[];
    },
    async acknowledge(stream, consumer, id, consumers) {
      const log = logOf(stream);
      log.positions.set(consumer, Math.max(log.positions.get(consumer) ?? 0, sequenceOf(id)));
      const positions = consumers.map((name) => log.positions.get(name));
      if (positions.length && positions.every((position) => position !== undefined)) {
        const through = Math.min(...positions);
        if (through > log.trimmed) {
          log.entries.splice(0, through - log.trimmed);
          log.trimmed = through;
        }
      }
      return log.entries.length;
    },
    async length(stream) {
      return logOf(stream).entries.length;
    },
    async ping() {},
    async close() {
      logs.clear();
    },
  };
}

/**
 * Acknowledges a consumer's position and trims, atomically, so two consumers acknowledging at once cannot trim past
 * either. KEYS: the stream, the hash of consumers' positions, the id the stream is trimmed through. ARGV: the
 * consumer, its position, then every consumer that must have read an entry before it goes. Trimming is exact (MINID
 * without `~`): it runs once per applied batch, not per entry, and keeps the stream as short as the slowest consumer
 * allows. Ids compare as two numbers; the milliseconds stay text so Lua's floats never reformat them.
 */
const ACKNOWLEDGE_SCRIPT = `
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms, tonumber(seq)
end
local function before(a, b)
  local aMs, aSeq = parts(a)
  local bMs, bSeq = parts(b)
  if #aMs ~= #bMs then return #aMs < #bMs end
  if aMs ~= bMs then return aMs < bMs end
  return aSeq < bSeq
end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current or before(current, ARGV[2]) then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
local oldest = nil
for i = 3, #ARGV do
  local position = redis.call('HGET', KEYS[2], ARGV[i])
  if not position then return redis.call('XLEN', KEYS[1]) end
  if not oldest or before(position, oldest) then oldest = position end
end
local trimmed = redis.call('GET', KEYS[3])
if oldest and (not trimmed or before(trimmed, oldest)) then
  redis.call('SET', KEYS[3], oldest)
  local ms, seq = parts(oldest)
  redis.call('XTRIM', KEYS[1], 'MINID', ms .. '-' .. (seq + 1))
end
return redis.call('XLEN', KEYS[1])
`;

/**
 * Redis Streams: XADD to append, XRANGE with an exclusive start to read. Keys carry the mandatory prefix. Beside each
 * stream, `<stream>:positions` (a hash) holds each consumer's acknowledged position and `<stream>:trimmed` the id the
 * stream is trimmed through.
 */
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
  const keysOf = (stream: string) => {
    const key = `${prefix}${stream}`;
    return { key, positions: `${key}:positions`, trimmed: `${key}:trimmed` };
  };
  return {
    async append(stream, event) {
      return client.xAdd(keysOf(stream).key, '*', { event: JSON.stringify(event) });
    },
    async read<T>(stream: string, afterId: string | null, count: number) {
      const { key, trimmed } = keysOf(stream);
      // One transaction, so a trim cannot fall between the check and the read.
      const [through, entries] = (await client
        .multi()
        .get(trimmed)
        .xRange(key, afterId ? `(${afterId}` : '-', '+', { COUNT: count })
        .exec()) as unknown as [string | null, { id: string; message: Record<string, string> }[] | null];
      if (through && (afterId === null || isBefore(afterId, through))) {
        throw new StreamPositionTrimmedError(stream, afterId, through);
      }
      return (entries ?? []).map((entry) => ({ id: entry.id, event: JSON.parse(String(entry.message.event)) as T }));
    },
    async acknowledge(stream, consumer, id, consumers) {
      const { key, positions, trimmed } = keysOf(stream);
      const remaining = await client.eval(ACKNOWLEDGE_SCRIPT, {
        keys: [key, positions, trimmed],
        arguments: [consumer, id, ...consumers],
      });
      return Number(remaining);
    },
    async length(stream) {
      return client.xLen(keysOf(stream).key);
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
