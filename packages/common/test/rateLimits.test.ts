// Rate limits on their own: the key an address counts under, the coded refusal, counting in memory and in Redis
// (shared by instances, and per instance while Redis is away), and the `<count>/<seconds>` variables.
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freePort, hasRedisServer, startRedisServer, type RedisServer } from '../../../test/support/scratch.js';
import {
  addressKey,
  ConfigError,
  createMemoryRateLimitStore,
  createRedisRateLimitStore,
  parseEnv,
  rateLimitVar,
  type RateLimiter,
} from '../src/index.js';

const LIMIT = { points: 2, durationSeconds: 60 };

/** What `consume` ended with: 'ok', or the refusal's code and retryAfterSeconds. */
async function outcome(limiter: RateLimiter, key: string) {
  try {
    await limiter.consume(key);
    return 'ok';
  } catch (error) {
    const { extensions } = error as { extensions: { code: string; retryAfterSeconds: number } };
    return `${extensions.code} after ${extensions.retryAfterSeconds}s`;
  }
}

describe('addressKey', () => {
  it('should count IPv4 as it is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64, and an unnamed address as unknown', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:DB8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::9')).toBe(addressKey('2001:db8:1:2:ffff::1'));
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey(null)).toBe('unknown');
  });
});

describe('the memory store', () => {
  it('should refuse past the limit with TOO_MANY_ATTEMPTS and when to retry, per key, and take back a refund', async () => {
    const limiter = createMemoryRateLimitStore().limiter('test', LIMIT, 'Too many tests');
    expect([await outcome(limiter, 'a'), await outcome(limiter, 'a'), await outcome(limiter, 'a')]).toEqual([
      'ok',
      'ok',
      'TOO_MANY_ATTEMPTS after 60s',
    ]);
    await expect(limiter.consume('a')).rejects.toThrow('Too many tests; try again in 60 seconds.');
    expect(await outcome(limiter, 'b')).toBe('ok');
    await limiter.refund('b');
    expect([await outcome(limiter, 'b'), await outcome(limiter, 'b')]).toEqual(['ok', 'ok']);
  });
});

describe.skipIf(!hasRedisServer)('the Redis store', () => {
  const running: RedisServer[] = [];
  afterAll(async () => {
    await Promise.all(running.map((redis) => redis.kill()));
  });

  it('should count across instances, and per instance while Redis is away, without waiting for it', async () => {
    const redis = await startRedisServer(await freePort());
    running.push(redis);
    const [first, second] = await Promise.all([
      createRedisRateLimitStore(redis.url, 'limits:'),
      createRedisRateLimitStore(redis.url, 'limits:'),
    ]);
    const [a, b] = [first.limiter('test', LIMIT, 'Too many'), second.limiter('test', LIMIT, 'Too many')];
    expect([await outcome(a, 'k'), await outcome(b, 'k'), await outcome(a, 'k')]).toEqual([
      'ok',
      'ok',
      'TOO_MANY_ATTEMPTS after 60s',
    ]);

    await redis.kill();
    const started = Date.now();
    expect([await outcome(a, 'away'), await outcome(a, 'away'), await outcome(a, 'away')]).toEqual([
      'ok',
      'ok',
      'TOO_MANY_ATTEMPTS after 60s',
    ]);
    expect(Date.now() - started).toBeLessThan(1_000);
    await Promise.all([first.close(), second.close()]);
  });
});

describe('rateLimitVar', () => {
  const env = z.object({ LIMIT: rateLimitVar({ points: 5, durationSeconds: 900 }) });

  it('should read <count>/<seconds>, and the default when unset or empty', () => {
    expect(parseEnv(env, { LIMIT: '30/60' }).LIMIT).toEqual({ points: 30, durationSeconds: 60 });
    expect(parseEnv(env, {}).LIMIT).toEqual({ points: 5, durationSeconds: 900 });
    expect(parseEnv(env, { LIMIT: '' }).LIMIT).toEqual({ points: 5, durationSeconds: 900 });
  });

  it('should refuse anything else, naming the variable', () => {
    for (const bad of ['30', '0/60', '30/0', 'ten/60', '-1/60']) {
      expect(() => parseEnv(env, { LIMIT: bad })).toThrow(ConfigError);
    }
    expect(() => parseEnv(env, { LIMIT: '30' })).toThrow(/LIMIT: expected <count>\/<seconds>.*got "30"/);
  });
});
