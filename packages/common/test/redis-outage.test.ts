/**
 * Redis going away must not hang a sender, a subscriber leaving, or a shutdown. Runs its own throwaway redis-server
 * (the shared one must stay up for the other tests), so it is skipped where there is no redis-server binary.
 */
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, hasRedisServer, startRedisServer, type RedisServer } from '../../../test/support/scratch.js';
import { createRedisEventStream, createRedisPubSub, type EventStream, type PubSub } from '../src/index.js';

/** How many PUBLISH commands the server at `url` has run since it started. */
async function publishesServed(url: string): Promise<number> {
  const client = createClient({ url });
  await client.connect();
  try {
    const stats = await client.info('commandstats');
    return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    client.destroy();
  }
}

describe.skipIf(!hasRedisServer)('Redis going away', () => {
  const running: RedisServer[] = [];
  const start = async (port: number) => {
    const redis = await startRedisServer(port);
    running.push(redis);
    return redis;
  };

  afterAll(async () => {
    await Promise.all(running.map((redis) => redis.kill()));
  });

  it('should keep a publish for later, fail stream commands at once, and let a subscriber leave and shut down, while Redis is away', async () => {
    const redis = await start(await freePort());
    const pubsub: PubSub = await createRedisPubSub({ url: redis.url, prefix: 'outage:' });
    const stream: EventStream = await createRedisEventStream(redis.url, 'outage:');
    const heard: unknown[] = [];
    const unsubscribe = await pubsub.subscribe('news', (payload) => heard.push(payload));
    await pubsub.publish('news', { n: 1 });
    await expect.poll(() => heard).toEqual([{ n: 1 }]);
    await stream.append('log', { n: 1 });

    await redis.kill();
    await pubsub.publish('news', { n: 2 });
    await expect(stream.append('log', { n: 2 })).rejects.toThrow();
    await expect(stream.read('log', null, 10)).rejects.toThrow();
    await unsubscribe();
    await pubsub.close();
    await stream.close();
  });

  it('should send what was published while away once back, and tell subscribers their connection is back', async () => {
    const port = await freePort();
    const redis = await start(port);
    const pubsub = await createRedisPubSub({ url: redis.url, prefix: 'outage:' });
    const heard: unknown[] = [];
    await pubsub.subscribe('news', (payload) => heard.push(payload));
    let reconnects = 0;
    pubsub.onReconnect(() => (reconnects += 1));

    await redis.kill();
    for (const n of [1, 2, 3]) await pubsub.publish('news', { n });
    const restarted = await start(port);
    await expect.poll(() => reconnects, { timeout: 15_000 }).toBe(1);
    // The three kept while away reach the new server (a subscriber may or may not have been back in time to hear
    // them: the ones that were not re-read from the database), then new ones flow as before.
    await expect.poll(() => publishesServed(restarted.url), { timeout: 15_000 }).toBe(3);
    await pubsub.publish('news', { n: 4 });
    await expect.poll(() => heard.at(-1), { timeout: 15_000 }).toEqual({ n: 4 });
    expect(await publishesServed(restarted.url)).toBe(4);
    await pubsub.close();
  });
});
