// The pub/sub and event-stream contract, written once and run against every back end: in-process, and Redis (the
// one at REDIS_URL, or a redis-server of the suite's own; skipped where there is neither).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteRedisKeys,
  freePort,
  hasRedisServer,
  startRedisServer,
  type RedisServer,
} from '../../../test/support/scratch.js';
import {
  createMemoryEventStream,
  createMemoryPubSub,
  createRedisEventStream,
  createRedisPubSub,
  StreamPositionTrimmedError,
  type EventStream,
  type PubSub,
} from '../src/index.js';

/** One back end under test: how to open its pub/sub and stream under a prefix, and what it shares between opens. */
interface Backend {
  name: string;
  /** Whether it can run here. */
  available: boolean;
  /** Whether two instances opened with the same prefix hear each other (as service instances sharing Redis do). */
  sharedBetweenInstances: boolean;
  pubsub(prefix: string): Promise<PubSub>;
  stream(prefix: string): Promise<EventStream>;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
}

const memory: Backend = {
  name: 'in-process',
  available: true,
  sharedBetweenInstances: false,
  pubsub: async () => createMemoryPubSub(),
  stream: async () => createMemoryEventStream(),
  setUp: async () => {},
  tearDown: async () => {},
};

/** Redis at REDIS_URL when set (keys under this run's prefixes are removed after), else a redis-server of our own. */
const redis = ((): Backend => {
  let own: RedisServer | undefined;
  let url = process.env.REDIS_URL || undefined;
  const prefixes: string[] = [];
  const opened = (prefix: string) => {
    if (!url) throw new Error('Redis back end used before setUp');
    if (prefix) prefixes.push(prefix);
    return url;
  };
  return {
    name: 'Redis',
    available: Boolean(url) || hasRedisServer,
    sharedBetweenInstances: true,
    pubsub: async (prefix) => createRedisPubSub({ url: opened(prefix), prefix }),
    stream: async (prefix) => createRedisEventStream(opened(prefix), prefix),
    async setUp() {
      if (!url) {
        own = await startRedisServer(await freePort());
        url = own.url;
      }
    },
    async tearDown() {
      if (own) return own.kill();
      if (url) for (const prefix of prefixes) await deleteRedisKeys(url, prefix);
    },
  };
})();

/** A prefix no other test (or earlier run) used. */
const uniquePrefix = () => `conformance-${randomBytes(4).toString('hex')}:`;

/** Payloads in the order a listener heard them. */
function recorder() {
  const heard: unknown[] = [];
  return { heard, listener: (payload: unknown) => void heard.push(payload) };
}

describe.each([memory, redis])('the $name back end', (backend) => {
  const open: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(resource: T) => (open.push(resource), resource);
  const pubsub = async (prefix = uniquePrefix()) => track(await backend.pubsub(prefix));
  const stream = async (prefix = uniquePrefix()) => track(await backend.stream(prefix));

  beforeAll(async () => {
    if (backend.available) await backend.setUp();
  });

  afterAll(async () => {
    await Promise.all(open.map((resource) => resource.close()));
    if (backend.available) await backend.tearDown();
  });

  describe.skipIf(!backend.available)('pub/sub', () => {
    it('should answer a ping', async () => {
      await expect((await pubsub()).ping()).resolves.toBeUndefined();
    });

    it('should deliver a publish to every subscriber of the channel, each with its own copy of the payload', async () => {
      const events = await pubsub();
      const [first, second] = [recorder(), recorder()];
      await events.subscribe('news', first.listener);
      await events.subscribe('news', second.listener);
      const payload = { id: 1, text: 'hello', tags: ['a'] };
      await events.publish('news', payload);
      await expect.poll(() => first.heard).toEqual([payload]);
      await expect.poll(() => second.heard).toEqual([payload]);
      expect(first.heard[0]).not.toBe(payload);
      expect(first.heard[0]).not.toBe(second.heard[0]);
    });

    it('should keep channels apart', async () => {
      const events = await pubsub();
      const [news, sport] = [recorder(), recorder()];
      await events.subscribe('news', news.listener);
      await events.subscribe('sport', sport.listener);
      await events.publish('sport', { n: 1 });
      await events.publish('news', { n: 2 });
      await expect.poll(() => news.heard).toEqual([{ n: 2 }]);
      await expect.poll(() => sport.heard).toEqual([{ n: 1 }]);
    });

    it('should keep instances with different prefixes apart on the same channel', async () => {
      const [mine, theirs] = [await pubsub(), await pubsub()];
      const [heardByMine, heardByTheirs] = [recorder(), recorder()];
      await mine.subscribe('news', heardByMine.listener);
      await theirs.subscribe('news', heardByTheirs.listener);
      await mine.publish('news', { from: 'mine' });
      await theirs.publish('news', { from: 'theirs' });
      // Each heard its own publish, so the other's had its chance to arrive too.
      await expect.poll(() => heardByMine.heard).toEqual([{ from: 'mine' }]);
      await expect.poll(() => heardByTheirs.heard).toEqual([{ from: 'theirs' }]);
    });

    it.runIf(backend.sharedBetweenInstances)('should let instances with the same prefix hear each other', async () => {
      const prefix = uniquePrefix();
      const [publisher, subscriber] = [await pubsub(prefix), await pubsub(prefix)];
      const { heard, listener } = recorder();
      await subscriber.subscribe('news', listener);
      await publisher.publish('news', { n: 1 });
      await expect.poll(() => heard).toEqual([{ n: 1 }]);
    });

    it('should stop delivering to a listener once unsubscribed, and go on delivering to the others', async () => {
      const events = await pubsub();
      const [leaving, staying] = [recorder(), recorder()];
      const unsubscribe = await events.subscribe('news', leaving.listener);
      await events.subscribe('news', staying.listener);
      await events.publish('news', { n: 1 });
      await expect.poll(() => leaving.heard).toEqual([{ n: 1 }]);
      await unsubscribe();
      await events.publish('news', { n: 2 });
      await expect.poll(() => staying.heard).toEqual([{ n: 1 }, { n: 2 }]);
      expect(leaving.heard).toEqual([{ n: 1 }]);
    });

    it('should deliver the publishes of one channel in the order they were made', async () => {
      const events = await pubsub();
      const { heard, listener } = recorder();
      await events.subscribe('news', listener);
      const sent = Array.from({ length: 100 }, (_, n) => ({ n }));
      await Promise.all(sent.map((payload) => events.publish('news', payload)));
      await expect.poll(() => heard.length).toBe(sent.length);
      expect(heard).toEqual(sent);
    });

    it('should deliver nothing once closed, take a publish after close without throwing, and close twice harmlessly', async () => {
      const prefix = uniquePrefix();
      const events = await pubsub(prefix);
      const { heard, listener } = recorder();
      await events.subscribe('news', listener);
      await events.publish('news', { n: 1 });
      await expect.poll(() => heard).toEqual([{ n: 1 }]);
      await events.close();
      await expect(events.publish('news', { n: 2 })).resolves.toBeUndefined();
      await events.close();
      // A publish through another instance is the barrier: had the closed one still been listening, it would have
      // heard this one too (where instances share a back end at all).
      const other = await pubsub(prefix);
      const { heard: heardByOther, listener: otherListener } = recorder();
      await other.subscribe('news', otherListener);
      await other.publish('news', { n: 3 });
      await expect.poll(() => heardByOther).toEqual([{ n: 3 }]);
      expect(heard).toEqual([{ n: 1 }]);
    });
  });

  describe.skipIf(!backend.available)('event streams', () => {
    it('should answer a ping', async () => {
      await expect((await stream()).ping()).resolves.toBeUndefined();
    });

    it('should read every entry oldest first, with the ids append returned, each event a copy', async () => {
      const log = await stream();
      const events = [{ n: 1 }, { n: 2 }, { n: 3 }];
      const ids: string[] = [];
      for (const event of events) ids.push(await log.append('log', event));
      const entries = await log.read<{ n: number }>('log', null, 10);
      expect(entries).toEqual(events.map((event, i) => ({ id: ids[i], event })));
      expect(entries[0]!.event).not.toBe(events[0]);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('should read strictly after a position, at most `count` entries, and nothing past the end', async () => {
      const log = await stream();
      const ids: string[] = [];
      for (let n = 1; n <= 5; n += 1) ids.push(await log.append('log', { n }));
      expect((await log.read('log', ids[1]!, 2)).map((entry) => entry.event)).toEqual([{ n: 3 }, { n: 4 }]);
      expect((await log.read('log', null, 2)).map((entry) => entry.id)).toEqual(ids.slice(0, 2));
      expect(await log.read('log', ids[4]!, 10)).toEqual([]);
    });

    it('should keep streams apart, and read an empty list from a stream nobody appended to', async () => {
      const log = await stream();
      await log.append('one', { n: 1 });
      await log.append('two', { n: 2 });
      expect((await log.read('one', null, 10)).map((entry) => entry.event)).toEqual([{ n: 1 }]);
      expect(await log.read('nobody', null, 10)).toEqual([]);
    });

    it('should keep instances with different prefixes apart on the same stream', async () => {
      const [mine, theirs] = [await stream(), await stream()];
      await mine.append('log', { from: 'mine' });
      await theirs.append('log', { from: 'theirs' });
      expect((await mine.read('log', null, 10)).map((entry) => entry.event)).toEqual([{ from: 'mine' }]);
      expect((await theirs.read('log', null, 10)).map((entry) => entry.event)).toEqual([{ from: 'theirs' }]);
    });

    it.runIf(backend.sharedBetweenInstances)(
      'should let instances with the same prefix read what the other appended',
      async () => {
        const prefix = uniquePrefix();
        const [writer, reader] = [await stream(prefix), await stream(prefix)];
        const id = await writer.append('log', { n: 1 });
        expect(await reader.read('log', null, 10)).toEqual([{ id, event: { n: 1 } }]);
      },
    );

    describe('trimming', () => {
      const BOTH = ['first', 'second'] as const;
      /** A stream holding `n` entries, and their ids. */
      const filled = async (n: number) => {
        const log = await stream();
        const ids: string[] = [];
        for (let i = 1; i <= n; i += 1) ids.push(await log.append('log', { n: i }));
        return { log, ids };
      };

      it('should keep every entry a consumer of the set has not acknowledged, even one that never read', async () => {
        const { log, ids } = await filled(5);
        expect(await log.acknowledge('log', 'first', ids[4]!, BOTH)).toBe(5);
        expect(await log.acknowledge('log', 'second', ids[1]!, BOTH)).toBe(3);
        expect(await log.length('log')).toBe(3);
        expect((await log.read('log', ids[1]!, 10)).map((entry) => entry.id)).toEqual(ids.slice(2));
      });

      it('should trim everything once every consumer has acknowledged the last entry, and go on appending', async () => {
        const { log, ids } = await filled(4);
        await log.acknowledge('log', 'second', ids[3]!, BOTH);
        expect(await log.acknowledge('log', 'first', ids[3]!, BOTH)).toBe(0);
        const next = await log.append('log', { n: 5 });
        expect(await log.read('log', ids[3]!, 10)).toEqual([{ id: next, event: { n: 5 } }]);
        expect(await log.length('log')).toBe(1);
      });

      it('should never move a position back, so a late acknowledgement of an older batch trims nothing less', async () => {
        const { log, ids } = await filled(4);
        await log.acknowledge('log', 'first', ids[2]!, BOTH);
        await log.acknowledge('log', 'first', ids[0]!, BOTH);
        expect(await log.acknowledge('log', 'second', ids[3]!, BOTH)).toBe(1);
      });

      it('should refuse to read from a position whose following entries were trimmed, rather than skip them', async () => {
        const { log, ids } = await filled(4);
        await log.acknowledge('log', 'first', ids[2]!, BOTH);
        await log.acknowledge('log', 'second', ids[2]!, BOTH);
        await expect(log.read('log', ids[0]!, 10)).rejects.toBeInstanceOf(StreamPositionTrimmedError);
        await expect(log.read('log', null, 10)).rejects.toBeInstanceOf(StreamPositionTrimmedError);
        expect((await log.read('log', ids[2]!, 10)).map((entry) => entry.id)).toEqual([ids[3]]);
      });

      it('should trim nothing for an empty set of consumers, and keep streams apart', async () => {
        const { log, ids } = await filled(2);
        await log.append('other', { n: 1 });
        expect(await log.acknowledge('log', 'first', ids[1]!, [])).toBe(2);
        await log.acknowledge('log', 'first', ids[1]!, ['first']);
        expect([await log.length('log'), await log.length('other')]).toEqual([0, 1]);
      });
    });

    it('should close, and close twice, without throwing', async () => {
      const log = await stream();
      await log.append('log', { n: 1 });
      await expect(log.close()).resolves.toBeUndefined();
      await expect(log.close()).resolves.toBeUndefined();
    });
  });

  describe.runIf(backend.sharedBetweenInstances && backend.available)('prefix', () => {
    it('should be required, so two deployments never share channels or streams by accident', async () => {
      await expect(backend.pubsub('')).rejects.toThrow(/non-empty/);
      await expect(backend.stream('')).rejects.toThrow(/non-empty/);
    });
  });
});
