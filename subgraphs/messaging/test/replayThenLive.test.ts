/** The replay-then-live stream: no gap or duplicate through lost or reordered announcements, a slow reader, a stop. */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryPubSub, type PubSub } from '@igt/common';
import { replayThenLive, type LiveEvent } from '../src/replayThenLive.js';

interface Item {
  id: number;
}

/**
 * A committed log plus the pub/sub that announces it, like a mailbox: `commit` stores an item, `announce` publishes
 * it (tests choose when, to play out-of-order and lost announcements).
 */
function fakeMailbox(hidden: ReadonlySet<number> = new Set()) {
  const pubsub: PubSub = createMemoryPubSub();
  const log: Item[] = [];
  let listeners = 0;
  const reads: number[] = [];
  const rereads: (() => void)[] = [];
  return {
    pubsub,
    log,
    reads,
    /** Tells every open stream that announcements may have been missed (as a reconnect to Redis does). */
    missedAnnouncements: () => rereads.forEach((reread) => reread()),
    listeners: () => listeners,
    commit(id: number): LiveEvent<Item> {
      const previousId = log.at(-1)?.id ?? null;
      log.push({ id });
      return { id, previousId, item: { id } };
    },
    announce: (event: LiveEvent<Item>) => pubsub.publish('inbox', event),
    open(after: number | null, options: { maxBuffered?: number; pageSize?: number } = {}) {
      return replayThenLive<Item>({
        after,
        ...options,
        listen: async (push, reread) => {
          listeners += 1;
          rereads.push(reread);
          const unsubscribe = await pubsub.subscribe('inbox', (payload) => push(payload as LiveEvent<Item>));
          return async () => {
            listeners -= 1;
            await unsubscribe();
          };
        },
        fetchAfter: async (afterId, limit) => {
          reads.push(afterId);
          const shown = log.filter((item) => item.id > afterId && !hidden.has(item.id));
          return { items: shown.slice(0, limit), head: log.at(-1)?.id ?? 0 };
        },
        head: async () => log.at(-1)?.id ?? 0,
        idOf: (item) => item.id,
      });
    },
  };
}

async function take(iterator: AsyncIterator<Item>, count: number): Promise<number[]> {
  const ids: number[] = [];
  while (ids.length < count) {
    const result = await iterator.next();
    if (result.done) break;
    ids.push(result.value.id);
  }
  return ids;
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((dispose) => dispose()));
});

describe('replayThenLive', () => {
  it('should replay everything after `after`, then continue live with no duplicate', async () => {
    const box = fakeMailbox();
    for (const id of [1, 2, 3]) await box.announce(box.commit(id));
    const stream = await box.open(1, { pageSize: 1 });
    cleanup.push(async () => stream.return?.());
    // Committed and announced while the replay is under way: delivered once.
    const four = box.commit(4);
    await box.announce(four);
    await box.announce(four);
    const five = box.commit(5);
    await box.announce(five);
    expect(await take(stream, 4)).toEqual([2, 3, 4, 5]);
  });

  it('should deliver only items committed after it started when there is no `after`', async () => {
    const box = fakeMailbox();
    await box.announce(box.commit(1));
    const stream = await box.open(null);
    cleanup.push(async () => stream.return?.());
    const late = box.commit(2);
    await box.announce(late);
    expect(await take(stream, 1)).toEqual([2]);
  });

  it('should fill a gap from the log when announcements arrive out of order or not at all', async () => {
    const box = fakeMailbox();
    const stream = await box.open(0);
    cleanup.push(async () => stream.return?.());
    const one = box.commit(1);
    const two = box.commit(2);
    box.commit(3); // never announced
    const four = box.commit(4);
    await box.announce(two);
    await box.announce(one);
    await box.announce(four);
    expect(await take(stream, 4)).toEqual([1, 2, 3, 4]);
  });

  it('should read the log again when told announcements were missed, without waiting for a later one', async () => {
    const box = fakeMailbox();
    const stream = await box.open(null);
    cleanup.push(async () => stream.return?.());
    const next = take(stream, 2);
    box.commit(1); // committed while the announcements' connection was down: never announced
    box.commit(2);
    box.missedAnnouncements();
    expect(await next).toEqual([1, 2]);
  });

  it('should drop its buffer when the consumer falls behind and catch up from the log', async () => {
    const box = fakeMailbox();
    const stream = await box.open(0, { maxBuffered: 2 });
    cleanup.push(async () => stream.return?.());
    for (let id = 1; id <= 10; id += 1) await box.announce(box.commit(id));
    expect(await take(stream, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('should stop listening at once when returned while waiting for the next item', async () => {
    const box = fakeMailbox();
    const stream = await box.open(null);
    expect(box.listeners()).toBe(1);
    const pending = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await stream.return?.();
    expect(box.listeners()).toBe(0);
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('should move past items the reader is not shown instead of reading them again for every event', async () => {
    const box = fakeMailbox(new Set([2, 3]));
    for (const id of [1, 2, 3]) box.commit(id);
    const stream = await box.open(0);
    cleanup.push(async () => stream.return?.());
    expect(await take(stream, 1)).toEqual([1]);
    // Announced without its item: the stream reads the log from where it got to, which is past 2 and 3.
    box.commit(4);
    await box.announce({ id: 4, previousId: 3 });
    expect(await take(stream, 1)).toEqual([4]);
    expect(box.reads).toEqual([0, 3]);
  });

  it('should stop listening when the log fails', async () => {
    const box = fakeMailbox();
    const stream = await replayThenLive<Item>({
      after: 0,
      listen: async () => async () => {
        box.reads.push(-1);
      },
      fetchAfter: async () => {
        throw new Error('database is down');
      },
      head: async () => 0,
      idOf: (item) => item.id,
    });
    await expect(stream.next()).rejects.toThrow('database is down');
    expect(box.reads).toEqual([-1]);
  });
});
