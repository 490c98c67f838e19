// New direct messages, live: what a send publishes after commit, and the replay-then-live streams that serve it.
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db, Logger, Metrics, PubSub } from '@igt/common';
import * as schema from './db/schema.js';
import { viewersSideOf } from './conversationSides.js';
import type { MessageModel } from './models.js';
import { visibleTo } from './hiddenFrom.js';
import type { Delivery } from './mailbox.js';
import { replayThenLive, type LiveEvent } from './replayThenLive.js';

const { mailboxes, messages, participants } = schema;

/** The pub/sub channel that carries new messages of one person's inbox. */
const directMessageChannel = (userId: number | string) => `dm:${userId}`;

/** A message as it travels over pub/sub (JSON has no dates). */
type WireMessage = Omit<MessageModel, 'sentAt' | 'unsentAt'> & { sentAt: string; unsentAt: string | null };

/**
 * What a send publishes on each participant's channel, after commit: the message, and that person's previous newest
 * message, so a subscriber can tell whether it missed one.
 */
export interface DirectMessageEvent {
  message: WireMessage;
  previousMessageId: number | null;
}

const toWire = (message: MessageModel): WireMessage => ({
  ...message,
  sentAt: message.sentAt.toISOString(),
  unsentAt: message.unsentAt?.toISOString() ?? null,
});

const fromWire = (message: WireMessage): MessageModel => ({
  ...message,
  sentAt: new Date(message.sentAt),
  unsentAt: message.unsentAt === null ? null : new Date(message.unsentAt),
});

/**
 * Announces a committed message to both participants. Pub/sub is at-most-once, so a failure is logged and not
 * thrown: the message is stored, and a subscriber that reconnects with `after` gets it from the database.
 */
export async function publishDelivery(
  pubsub: PubSub,
  delivery: Extract<Delivery, { kind: 'delivered' }>,
  logger: Logger,
): Promise<void> {
  const message = toWire(delivery.message);
  await Promise.all(
    [...delivery.previousMessageId].map(async ([userId, previousMessageId]) => {
      const event: DirectMessageEvent = { message, previousMessageId };
      try {
        await pubsub.publish(directMessageChannel(userId), event);
      } catch (error) {
        logger.warn(
          { err: error, messageId: message.id },
          'could not publish a new message; subscribers will replay it',
        );
      }
    }),
  );
}

/**
 * Messages of `viewerId`'s conversations with an id greater than `afterId`, oldest first, leaving out those sent by
 * someone who has blocked the viewer (hiddenFrom.ts).
 */
function messagesAfter(
  db: Db<typeof schema>,
  viewerId: number,
  afterId: number,
  limit: number,
): Promise<MessageModel[]> {
  return db
    .select({ message: messages })
    .from(messages)
    .innerJoin(participants, viewersSideOf(messages.conversationId, viewerId))
    .where(and(gt(messages.id, afterId), visibleTo(db, messages.senderId, viewerId)))
    .orderBy(asc(messages.id))
    .limit(limit)
    .then((rows) => rows.map((row) => row.message));
}

const toLiveEvent = (event: DirectMessageEvent): LiveEvent<MessageModel> => ({
  id: event.message.id,
  previousId: event.previousMessageId,
  item: fromWire(event.message),
});

function isDirectMessageEvent(payload: unknown): payload is DirectMessageEvent {
  const event = payload as Partial<DirectMessageEvent> | null;
  return (
    typeof event?.message?.id === 'number' &&
    (event.previousMessageId === null || typeof event.previousMessageId === 'number')
  );
}

/** Opens the live streams of new messages and ends them all on shutdown. */
export interface DirectMessageStreams {
  /** Every new message in `viewerId`'s conversations; with `after`, first every stored one after that id. */
  open(viewerId: number, after: number | null): Promise<AsyncIterableIterator<MessageModel>>;
  /** Ends every open stream (their clients see the subscription complete). */
  closeAll(): Promise<void>;
}

/**
 * Serves `directMessageReceived`: each stream listens on the viewer's channel, replays from the database, and is
 * tracked so that shutdown can end it. `graphql_subscriptions_active` counts the streams that are listening.
 */
export function createDirectMessageStreams(
  db: Db<typeof schema>,
  pubsub: PubSub,
  logger: Logger,
  metrics: Metrics,
): DirectMessageStreams {
  const open = new Set<AsyncIterableIterator<MessageModel>>();
  return {
    async open(viewerId, after) {
      const stream = await replayThenLive<MessageModel>({
        after,
        listen: async (push, reread) => {
          const channel = directMessageChannel(viewerId);
          // After a lost connection to the announcements, anything committed meanwhile is read from the database.
          const stopRereading = pubsub.onReconnect(reread);
          try {
            const unsubscribe = await pubsub.subscribe(channel, (payload) => {
              if (isDirectMessageEvent(payload)) push(toLiveEvent(payload));
              else logger.warn({ channel }, 'ignoring a malformed direct message event');
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
        fetchAfter: (afterId, limit) => messagesAfter(db, viewerId, afterId, limit),
        head: async () => {
          const [box] = await db
            .select({ lastMessageId: mailboxes.lastMessageId })
            .from(mailboxes)
            .where(eq(mailboxes.userId, viewerId));
          return box?.lastMessageId ?? 0;
        },
        idOf: (message) => message.id,
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
