/**
 * Redis going away must not hang a sender, a subscriber leaving, or a shutdown. Runs its own throwaway redis-server
 * (the shared one must stay up for the other tests), so it is skipped where there is no redis-server binary.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe.skipIf(!hasRedisServer)('Redis going away', () => {
  let redis: ChildProcess;
  let pubsub: PubSub;
  let stream: EventStream;

  beforeAll(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const url = `redis://127.0.0.1:${port}`;
    for (let attempt = 0; ; attempt++) {
      try {
        pubsub = await createRedisPubSub({ url, prefix: 'outage:' });
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    stream = await createRedisEventStream(url, 'outage:');
  });

  afterAll(() => {
    redis?.kill('SIGKILL');
  });

  it('should fail a publish or an append at once, let a subscriber leave, and shut down, while Redis is unreachable', async () => {
    const heard: unknown[] = [];
    const unsubscribe = await pubsub.subscribe('news', (payload) => heard.push(payload));
    await pubsub.publish('news', { n: 1 });
    await expect.poll(() => heard).toEqual([{ n: 1 }]);
    await stream.append('log', { n: 1 });

    const exited = new Promise((resolve) => redis.once('exit', resolve));
    redis.kill('SIGKILL');
    await exited;

    await expect(pubsub.publish('news', { n: 2 })).rejects.toThrow();
    await expect(stream.append('log', { n: 2 })).rejects.toThrow();
    await expect(stream.read('log', null, 10)).rejects.toThrow();
    await unsubscribe();
    await pubsub.close();
    await stream.close();
  });
});
