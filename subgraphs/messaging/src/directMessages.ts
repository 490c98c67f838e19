// New direct messages, live: what a send announces after commit, and the log `directMessageReceived` replays.
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db, Logger, PubSub } from '@igt/common';
import * as schema from './db/schema.js';
import { viewersSideOf, withinMembership } from './conversationSides.js';
import type { MessageModel } from './models.js';
import { visibleTo } from './hiddenFrom.js';
import {
  inboxChannel,
  isWireMessage,
  type InboxAnnouncement,
  type InboxLog,
  type WireMessage,
} from './inboxChannel.js';
import type { Delivery } from './mailbox.js';

const { mailboxes, messages, participants } = schema;

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
 * Announces a committed message to every member it reached, with its inbox event, in one announcement per person.
 * Pub/sub is at-most-once, so a failure is logged and not thrown: the message is stored, and a subscriber that
 * reconnects with `after` gets it from the database.
 */
export async function publishDelivery(
  pubsub: PubSub,
  delivery: Extract<Delivery, { kind: 'delivered' }>,
  logger: Logger,
): Promise<void> {
  const message = toWire(delivery.message);
  const events = new Map(delivery.events.map(({ userId, id, previousId }) => [userId, { id, previousId }]));
  await Promise.all(
    [...delivery.previousMessageId].map(async ([userId, previousMessageId]) => {
      const announcement: InboxAnnouncement = { message: { message, previousMessageId }, event: events.get(userId) };
      try {
        await pubsub.publish(inboxChannel(userId), announcement);
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
 * Messages of `viewerId`'s conversations with an id greater than `afterId`, oldest first, within the viewer's
 * membership window of each, leaving out those sent by someone who has blocked the viewer (hiddenFrom.ts).
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
    .where(and(gt(messages.id, afterId), withinMembership(messages.id), visibleTo(db, messages.senderId, viewerId)))
    .orderBy(asc(messages.id))
    .limit(limit)
    .then((rows) => rows.map((row) => row.message));
}

/** `directMessageReceived`'s log: a person's messages, announced with the message itself. */
export const directMessageLog = (db: Db<typeof schema>): InboxLog<MessageModel> => ({
  pick: ({ message }) =>
    message && {
      id: message.message.id,
      previousId: message.previousMessageId,
      ...(isWireMessage(message.message) ? { item: fromWire(message.message) } : {}),
    },
  fetchAfter: (viewerId, afterId, limit) => messagesAfter(db, viewerId, afterId, limit),
  head: async (viewerId) => {
    const [box] = await db
      .select({ lastMessageId: mailboxes.lastMessageId })
      .from(mailboxes)
      .where(eq(mailboxes.userId, viewerId));
    return box?.lastMessageId ?? 0;
  },
  idOf: (message) => message.id,
  what: 'message id',
});
