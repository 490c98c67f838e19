/**
 * Redis going away must not hang a sender, a subscriber leaving, or a shutdown. Runs its own throwaway redis-server
 * (the shared one must stay up for the other tests), so it is skipped where there is no redis-server binary.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisEventStream, createRedisPubSub, type EventStream, type PubSub } from '../src/index.js';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** A redis-server of this test's own on `port`, and a way to kill it. */
async function startRedis(port: number): Promise<{ url: string; kill(): Promise<void> }> {
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `redis://127.0.0.1:${port}`;
  await expect.poll(() => fetchPing(port), { timeout: 10_000 }).toBe(true);
  return {
    url,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Whether something accepts connections on `port`. */
const fetchPing = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

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
  const running: { kill(): Promise<void> }[] = [];
  const start = async (port: number) => {
    const redis = await startRedis(port);
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
