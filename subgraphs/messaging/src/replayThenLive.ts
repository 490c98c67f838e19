/**
 * One live notification: an item, its id, and the id of the item that came just before it in the same ordered log
 * (null for the first). The previous id is what lets a listener notice that it missed something. Without its item,
 * the notification only says that the log has grown: the item is read back from the log.
 */
export interface LiveEvent<T> {
  id: number;
  previousId: number | null;
  item?: T;
}

/** One read of a log: the items shown, and the newest id in the log when it was read. */
export interface LogPage<T> {
  items: T[];
  head: number;
}

/** Where a replay-then-live stream reads its log and hears its announcements. */
export interface ReplayThenLiveOptions<T> {
  /**
   * Starts listening and calls `push` for every event published from now on, in any order, possibly twice, and
   * `reread` when events may have been missed without a later one to show it (the announcements' connection was
   * lost for a while). Resolves once listening, with the function that stops it.
   */
  listen(push: (event: LiveEvent<T>) => void, reread: () => void): Promise<() => Promise<void>>;
  /**
   * Committed items with an id greater than `afterId`, in id order, at most `limit`: the source of truth. With them,
   * `head`: the newest id in the log, read before the items. The log may hold items a reader is not shown; when a page
   * comes back short, every id up to `head` has been looked at, so the stream moves past hidden items instead of
   * reading them again on every event.
   */
  fetchAfter(afterId: number, limit: number): Promise<LogPage<T>>;
  /** The id of the newest committed item (0 for none): where a live-only stream starts. */
  head(): Promise<number>;
  idOf(item: T): number;
  /** Replay everything after this id first; null for live items only. */
  after: number | null;
  /** Items read per query while replaying. */
  pageSize?: number;
  /** Events held while the consumer is slow; past this the buffer is dropped and refilled from `fetchAfter`. */
  maxBuffered?: number;
  /** Called once when the stream ends, however it ends. */
  onClose?: () => void;
}

/**
 * An ordered stream of items with no gap and no duplicate across a reconnect: listen first (buffering), then replay
 * from the log everything after `after`, then deliver buffered and live events, skipping ids already delivered.
 *
 * It relies on one property of the log: an item is published only after it is committed, and items are committed in
 * id order. So when an event arrives whose `previousId` is the last id delivered, nothing is missing and the event is
 * delivered as it is; otherwise (events published out of order, a dropped buffer, a client's arbitrary `after`) the
 * missing part is read back from the log, which is complete up to that event.
 *
 * Written as a hand-rolled iterator rather than an async generator because a generator cannot be returned while it
 * is waiting for the next event: the client leaving must release the listener at once.
 */
export async function replayThenLive<T>(options: ReplayThenLiveOptions<T>): Promise<AsyncIterableIterator<T>> {
  const { listen, fetchAfter, head, idOf, after, pageSize = 200, maxBuffered = 1_000, onClose } = options;
  const buffer: LiveEvent<T>[] = [];
  /** Set when the log must be read again before trusting the buffer: it overflowed, or announcements were missed. */
  let mustReread = false;
  let closed = false;
  let wake: (() => void) | null = null;

  const stopListening = await listen(
    (event) => {
      if (closed) return;
      if (buffer.length >= maxBuffered) {
        buffer.length = 0;
        mustReread = true;
      } else {
        buffer.push(event);
      }
      wake?.();
    },
    () => {
      if (closed) return;
      mustReread = true;
      wake?.();
    },
  );

  // Where a live-only stream starts is fixed now, right after listening, not at the consumer's first read: an item
  // committed in between is announced to the listener and must count as live.
  let start: number;
  try {
    start = after ?? (await head());
  } catch (error) {
    await stopListening();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      closed = true;
      wake?.();
      try {
        await stopListening();
      } finally {
        onClose?.();
      }
    })());

  async function* produce(): AsyncGenerator<T, void, undefined> {
    let last = start;

    async function* fill(): AsyncGenerator<T, void, undefined> {
      for (;;) {
        const { items, head } = await fetchAfter(last, pageSize);
        for (const item of items) {
          if (closed) return;
          last = idOf(item);
          yield item;
        }
        if (items.length < pageSize) {
          last = Math.max(last, head);
          return;
        }
      }
    }

    if (after !== null) yield* fill();
    while (!closed) {
      if (mustReread) {
        mustReread = false;
        yield* fill();
        continue;
      }
      const event = buffer.shift();
      if (!event) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      if (event.id <= last) continue;
      if (event.item !== undefined && (event.previousId ?? 0) === last) {
        last = event.id;
        yield event.item;
      } else {
        yield* fill();
      }
    }
  }

  const items = produce();
  const done = (): IteratorResult<T> => ({ done: true, value: undefined });
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      if (closed) return done();
      try {
        const result = await items.next();
        if (result.done) await close();
        return closed ? done() : result;
      } catch (error) {
        await close();
        throw error;
      }
    },
    async return() {
      await close();
      return done();
    },
    async throw(error?: unknown) {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
