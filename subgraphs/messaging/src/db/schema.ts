/** Messaging's tables (drizzle): conversations and their sides, messages, reactions, mailboxes, and its projections. */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** Everything the Messaging subgraph stores lives in the `messaging` Postgres schema. */
export const messaging = pgSchema('messaging');

const id = (name = 'id') => bigint(name, { mode: 'number' });
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** The folders of a person's inbox, as stored (same names as the GraphQL enum). */
export const INBOX_FOLDERS = ['PRIMARY', 'GENERAL', 'REQUESTS'] as const;
/** Where a message was sent from, as stored (same names as the GraphQL enum). */
export const MESSAGE_SOURCES = ['INSTAGRAM', 'THREADS'] as const;

/**
 * One-to-one conversations. The pair is stored in ascending order so that "the conversation between a and b" is one
 * unique row whichever of them writes first.
 */
export const conversations = messaging.table(
  'conversations',
  {
    id: id().primaryKey().generatedAlwaysAsIdentity(),
    userLowId: id('user_low_id').notNull(),
    userHighId: id('user_high_id').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    unique('conversations_pair_unique').on(t.userLowId, t.userHighId),
    index('conversations_user_high_idx').on(t.userHighId),
    check('conversations_pair_ordered', sql`${t.userLowId} < ${t.userHighId}`),
  ],
);

/**
 * Each person's side of a conversation: which folder it sits in for them, whether they declined it, how far they have
 * read. `lastMessageId` repeats the conversation's newest message id on both rows so that an inbox page is one index
 * range scan on (user, folder, lastMessageId); message ids only grow, so it is also a stable cursor.
 */
export const participants = messaging.table(
  'participants',
  {
    conversationId: id('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: id('user_id').notNull(),
    folder: text('folder', { enum: INBOX_FOLDERS }).notNull(),
    declined: boolean('declined').notNull().default(false),
    lastSeenMessageId: id('last_seen_message_id'),
    lastMessageId: id('last_message_id'),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.userId] }),
    index('participants_inbox_idx')
      .on(t.userId, t.folder, t.lastMessageId)
      .where(sql`not ${t.declined}`),
  ],
);

/**
 * Direct messages. Ids come from one identity sequence and are handed out while both people's mailbox rows are
 * locked, so within any one person's inbox they increase in commit order (what the subscription's replay relies on).
 */
export const messages = messaging.table(
  'messages',
  {
    id: id().primaryKey().generatedAlwaysAsIdentity(),
    conversationId: id('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    senderId: id('sender_id').notNull(),
    text: text('text').notNull(),
    source: text('source', { enum: MESSAGE_SOURCES }).notNull(),
    idempotencyKey: text('idempotency_key'),
    sentAt: at('sent_at').notNull().defaultNow(),
    unsent: boolean('unsent').notNull().default(false),
    unsentAt: at('unsent_at'),
  },
  (t) => [
    index('messages_conversation_idx').on(t.conversationId, t.id),
    uniqueIndex('messages_sender_idempotency_key_idx')
      .on(t.senderId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);

/** One reaction per person per message; changing it replaces the row. */
export const reactions = messaging.table(
  'reactions',
  {
    messageId: id('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    userId: id('user_id').notNull(),
    emoji: text('emoji').notNull(),
    reactedAt: at('reacted_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.userId] })],
);

/**
 * One row per person who has ever sent or received a message. A send locks both people's rows before it takes a
 * message id, which serialises the sends that touch one inbox; `lastMessageId` is that inbox's newest message, which
 * lets a live subscriber tell whether it missed one.
 */
export const mailboxes = messaging.table('mailboxes', {
  userId: id('user_id').primaryKey(),
  lastMessageId: id('last_message_id'),
});

/** Projection of Instagram follows, fed by the relationships stream (never read from Instagram's tables). */
export const follows = messaging.table(
  'follows',
  {
    followerId: id('follower_id').notNull(),
    followeeId: id('followee_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.followerId, t.followeeId] })],
);

/** Projection of Instagram blocks, fed by the relationships stream. */
export const blocks = messaging.table(
  'blocks',
  {
    blockerId: id('blocker_id').notNull(),
    blockedId: id('blocked_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index('blocks_blocked_idx').on(t.blockedId)],
);

/**
 * Instagram user ids Messaging has evidence of: everyone the relationships stream has mentioned, and everyone who has
 * sent a message (the gateway vouched for them). Used to refuse messages to ids that name nobody.
 */
export const knownUsers = messaging.table('known_users', {
  userId: id('user_id').primaryKey(),
});

/** How far Messaging has applied each stream it consumes; updated in the transaction that applies the entries. */
export const streamPositions = messaging.table('stream_positions', {
  stream: text('stream').primaryKey(),
  position: text('position'),
  updatedAt: at('updated_at').notNull().defaultNow(),
});
