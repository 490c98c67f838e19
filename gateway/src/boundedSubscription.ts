/** A subgraph subscription read through a bounded queue, so a burst of events cannot pile up without limit. */
import type { Client, SubscribePayload } from 'graphql-ws';
import type { FormattedExecutionResult } from 'graphql';

/** Events of one subscription the gateway holds while completing earlier ones, at most. */
export const MAX_PENDING_EVENTS = 1_000;

/** One event as a subgraph sent it. */
export type UpstreamEvent = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** What an upstream subscription produced next. */
export type UpstreamItem =
  | { kind: 'event'; event: UpstreamEvent }
  | { kind: 'error'; error: unknown }
  | { kind: 'complete' }
  | { kind: 'overflow' };

/**
 * Runs a graphql-ws subscription into a queue of at most `limit` events. graphql-ws has no flow control and each
 * event costs the gateway a query plan run, so a burst (a long replay) would otherwise pile up in memory without
 * bound: past the limit the upstream subscription is dropped and the queue ends with `overflow`.
 */
export function boundedSubscription(client: Pick<Client, 'subscribe'>, payload: SubscribePayload, limit: number) {
  const queue: UpstreamItem[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const end = (item: UpstreamItem) => {
    if (ended) return;
    ended = true;
    queue.push(item);
    wake?.();
  };
  const unsubscribe = client.subscribe<Record<string, unknown>, unknown>(payload, {
    next: (event) => {
      if (ended) return;
      if (queue.length >= limit) {
        end({ kind: 'overflow' });
        unsubscribe();
        return;
      }
      queue.push({ kind: 'event', event });
      wake?.();
    },
    error: (error) => end({ kind: 'error', error }),
    complete: () => end({ kind: 'complete' }),
  });
  return {
    /** The next item; after an `error`, `complete` or `overflow` nothing more comes. */
    async next(): Promise<UpstreamItem> {
      while (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      return queue.shift()!;
    },
    /** Stops the upstream subscription; a pending `next()` resolves with `complete`. */
    close(): void {
      end({ kind: 'complete' });
      unsubscribe();
    },
  };
}

/** What `boundedSubscription` returns: the items in order, and a way to stop early. */
export type BoundedSubscription = ReturnType<typeof boundedSubscription>;
