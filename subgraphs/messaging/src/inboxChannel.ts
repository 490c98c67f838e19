// Each person's inbox channel on pub/sub, and the replay-then-live streams read from it: new messages and inbox events.
import { badUserInput, type Logger, type Metrics, type PubSub } from '@igt/common';
import type { MessageModel } from './models.js';
import { replayThenLive, type LiveEvent } from './replayThenLive.js';

/** The pub/sub channel that carries the announcements of one person's inbox. */
export const inboxChannel = (userId: number | string) => `inbox:${userId}`;

/** A message as it travels over pub/sub (JSON has no dates). */
export type WireMessage = Omit<MessageModel, 'sentAt' | 'unsentAt'> & { sentAt: string; unsentAt: string | null };

/**
 * What a committed change announces on each person's channel: a new message with that person's previous newest
 * message id, an inbox event's position with the one before it in their log, or both (a send). The previous ids let a
 * subscriber tell whether it missed something.
 */
export interface InboxAnnouncement {
  message?: { message: WireMessage; previousMessageId: number | null };
  event?: { id: number; previousId: number | null };
}

const isId = (value: unknown): value is number => typeof value === 'number';
const isIdOrNull = (value: unknown) => value === null || isId(value);

/**
 * Whether an announced message is whole. One that is not (a publisher of another version, say) is still a sign that
 * the log grew: it is read back from the database instead.
 */
export function isWireMessage(message: unknown): message is WireMessage {
  const { id, conversationId, senderId, text, source, sentAt, unsent, unsentAt } = (message ?? {}) as WireMessage;
  return (
    [id, conversationId, senderId].every(isId) &&
    typeof text === 'string' &&
    typeof source === 'string' &&
    typeof sentAt === 'string' &&
    typeof unsent === 'boolean' &&
    (unsentAt === null || typeof unsentAt === 'string')
  );
}

/** Whether a payload heard on an inbox channel is an announcement (and not something malformed). */
export function isInboxAnnouncement(payload: unknown): payload is InboxAnnouncement {
  const { message, event } = (payload ?? {}) as InboxAnnouncement;
  if (message === undefined && event === undefined) return false;
  if (message !== undefined && !(isId(message?.message?.id) && isIdOrNull(message.previousMessageId))) return false;
  return event === undefined || (isId(event?.id) && isIdOrNull(event.previousId));
}

/** One ordered log of a person's inbox, as a live stream reads it. */
export interface InboxLog<T> {
  /** What of an announcement belongs to this log, if anything; an event without an item is read back from the log. */
  pick(announcement: InboxAnnouncement): LiveEvent<T> | undefined;
  /**
   * The person's committed items after `afterId` they may see, in id order, at most `limit`: the source of truth.
   */
  fetchAfter(viewerId: number, afterId: number, limit: number): Promise<T[]>;
  /** The id of the person's newest item (0 for none): where a live-only stream starts. */
  head(viewerId: number): Promise<number>;
  idOf(item: T): number;
  /** What an `after` names, for the error when it is past the newest one ("message id", "position"). */
  what: string;
}

/** Opens the live streams of one log and ends them all on shutdown. */
export interface InboxStreams<T> {
  /** Every new item of `viewerId`'s log; with `after`, first every stored one after that id. */
  open(viewerId: number, after: number | null): Promise<AsyncIterableIterator<T>>;
  /** Ends every open stream (their clients see the subscription complete). */
  closeAll(): Promise<void>;
}

/**
 * Serves a subscription from `log`: each stream listens on the viewer's channel, replays from the database, and is
 * tracked so that shutdown can end it. `graphql_subscriptions_active` counts the streams that are listening. An
 * `after` past the viewer's newest item is BAD_USER_INPUT: such a stream would skip everything until the log caught
 * up with a number the client made up.
 */
export function createInboxStreams<T>(
  log: InboxLog<T>,
  { pubsub, logger, metrics }: { pubsub: PubSub; logger: Logger; metrics: Metrics },
): InboxStreams<T> {
  const open = new Set<AsyncIterableIterator<T>>();
  return {
    async open(viewerId, after) {
      if (after !== null && after > (await log.head(viewerId)))
        throw badUserInput(
          `\`after\` must be a ${log.what} you received, got ${after}: you have none that new.`,
          'after',
        );
      const stream = await replayThenLive<T>({
        after,
        listen: async (push, reread) => {
          const channel = inboxChannel(viewerId);
          // After a lost connection to the announcements, anything committed meanwhile is read from the database.
          const stopRereading = pubsub.onReconnect(reread);
          try {
            const unsubscribe = await pubsub.subscribe(channel, (payload) => {
              if (!isInboxAnnouncement(payload)) {
                logger.warn({ channel }, 'ignoring a malformed inbox announcement');
                return;
              }
              const event = log.pick(payload);
              if (event) push(event);
            });
            return async () => {
              stopRereading();
              await unsubscribe();
            };
          } catch (error) {
            stopRereading();
            throw error;
          }
        },
        // The head is read first: every item up to it is committed by the time the items are read.
        fetchAfter: async (afterId, limit) => {
          const head = await log.head(viewerId);
          return { items: await log.fetchAfter(viewerId, afterId, limit), head };
        },
        head: () => log.head(viewerId),
        idOf: log.idOf,
        onClose: () => {
          open.delete(stream);
          metrics.activeSubscriptions.dec();
        },
      });
      open.add(stream);
      metrics.activeSubscriptions.inc();
      return stream;
    },
    async closeAll() {
      await Promise.allSettled([...open].map((stream) => stream.return?.()));
    },
  };
}
