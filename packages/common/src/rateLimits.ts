/** Rate limits (rate-limiter-flexible): counts per key in Redis, shared by every instance, or in this process's memory. */
import { isIPv4, isIPv6 } from 'node:net';
import { createClient } from 'redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { codedError, ErrorCode } from './errors.js';
import { closeRedisClient } from './pubsub.js';

/** At most `points` events per key within `durationSeconds`, counted from a key's first event in the window. */
export interface RateLimit {
  points: number;
  durationSeconds: number;
}

/** Counts events per key (a client address, an account) against one limit. */
export interface RateLimiter {
  /**
   * Counts one event for `key`, before the work it guards: parallel requests cannot outrun the count. Past the
   * limit it throws TOO_MANY_ATTEMPTS with `extensions.retryAfterSeconds`.
   */
  consume(key: string): Promise<void>;
  /** Takes one counted event of `key` back (one that turned out not to count, such as a right password). */
  refund(key: string): Promise<void>;
}

/** Where limiters keep their counts. */
export interface RateLimitStore {
  /** A limiter named `name` (unique within the store); past `limit` it refuses with `message` and when to retry. */
  limiter(name: string, limit: RateLimit, message: string): RateLimiter;
  close(): Promise<void>;
}

/** A rate limit refusal, in words: `message` (e.g. "Too many sign-ups from your network") and when to retry. */
export function tooManyAttempts(message: string, retryAfterSeconds: number) {
  const wait = Math.max(1, Math.ceil(retryAfterSeconds));
  const inWords = wait < 120 ? `${wait} seconds` : `${Math.ceil(wait / 60)} minutes`;
  return codedError(ErrorCode.TooManyAttempts, `${message}; try again in ${inWords}.`, { retryAfterSeconds: wait });
}

/**
 * The key a client address is counted under: an IPv4 address as it is (also when written IPv4-mapped, `::ffff:…`),
 * an IPv6 address by its /64, since one subscriber usually holds a whole /64. Unknown when the gateway did not say.
 */
export function addressKey(address: string | null): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped && isIPv4(mapped)) return mapped;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Wraps one rate-limiter-flexible limiter: its refusal becomes the coded error, anything else stays a failure. */
function rateLimiter(limiter: RateLimiterAbstract, message: string): RateLimiter {
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) throw tooManyAttempts(message, refusal.msBeforeNext / 1000);
        throw refusal;
      }
    },
    async refund(key) {
      await limiter.reward(key);
    },
  };
}

/** Counts in this process's memory: the embedded stack, where one process serves everything. */
export function createMemoryRateLimitStore(): RateLimitStore {
  return {
    limiter: (name, { points, durationSeconds }, message) =>
      rateLimiter(new RateLimiterMemory({ keyPrefix: name, points, duration: durationSeconds }), message),
    async close() {},
  };
}

/**
 * Counts in Redis under `prefix`, so every instance counts together. While Redis is unreachable each limiter counts in
 * this process's memory instead (rate-limiter-flexible's insurance limiter): limits hold per instance rather than
 * refusing everyone or letting everyone through.
 */
export async function createRedisRateLimitStore(
  url: string,
  prefix: string,
  onError: (error: unknown) => void = () => {},
): Promise<RateLimitStore> {
  if (!prefix) throw new Error('createRedisRateLimitStore: expected a non-empty key prefix, got ""');
  // Commands fail at once while Redis is away instead of queueing, so a request falls back to memory without waiting.
  const client = createClient({ url, disableOfflineQueue: true });
  client.on('error', onError);
  await client.connect();
  return {
    limiter: (name, { points, durationSeconds }, message) =>
      rateLimiter(
        new RateLimiterRedis({
          storeClient: client,
          useRedisPackage: true,
          rejectIfRedisNotReady: true,
          keyPrefix: `${prefix}rate-limit:${name}`,
          points,
          duration: durationSeconds,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix: name, points, duration: durationSeconds }),
        }),
        message,
      ),
    async close() {
      await closeRedisClient(client);
    },
  };
}

/** Opens a Redis rate-limit store when `redisUrl` is set, an in-memory one otherwise. */
export async function openRateLimitStore(
  redisUrl: string | undefined,
  prefix: string,
  onError?: (error: unknown) => void,
): Promise<RateLimitStore> {
  return redisUrl ? createRedisRateLimitStore(redisUrl, prefix, onError) : createMemoryRateLimitStore();
}
