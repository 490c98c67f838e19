/**
 * Messaging's tables (drizzle): conversations and their sides, messages, reactions, mailboxes, each person's inbox
 * event log, and its projections.
 */
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
/** What kind of conversation it is, as stored (same names as the GraphQL enum). */
export const CONVERSATION_KINDS = ['DIRECT', 'GROUP'] as const;

/**
 * Conversations. A one-to-one (DIRECT) conversation stores its pair in ascending order so that "the conversation
 * between a and b" is one unique row whichever of them writes first; a GROUP has no pair, and a title and an admin
 * instead. Its creator's idempotency key makes a retried createGroup find the first group.
 */
export const conversations = messaging.table(
  'conversations',
  {
    id: id().primaryKey().generatedAlwaysAsIdentity(),
    kind: text('kind', { enum: CONVERSATION_KINDS }).notNull().default('DIRECT'),
    userLowId: id('user_low_id'),
    userHighId: id('user_high_id'),
    title: text('title'),
    adminId: id('admin_id'),
    creatorId: id('creator_id'),
    idempotencyKey: text('idempotency_key'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    unique('conversations_pair_unique').on(t.userLowId, t.userHighId),
    index('conversations_user_high_idx').on(t.userHighId),
    uniqueIndex('conversations_creator_idempotency_key_idx')
      .on(t.creatorId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    check(
      'conversations_kind_shape',
      sql`(${t.kind} = 'DIRECT' and ${t.userLowId} < ${t.userHighId} and ${t.adminId} is null)
        or (${t.kind} = 'GROUP' and ${t.userLowId} is null and ${t.userHighId} is null and ${t.adminId} is not null)`,
    ),
  ],
);

/**
 * Each person's side of a conversation: which folder it sits in for them, whether they declined it, how far they have
 * read. `lastMessageId` repeats the conversation's newest message id on every member's row so that an inbox page is
 * one index range scan on (user, folder, lastMessageId); message ids only grow, so it is also a stable cursor. Group
 * activity that is not a message (created, someone added) takes an id of the same sequence that no message has.
 *
 * A group member sees the messages after `visibleAfterMessageId` (the newest one when they joined; null: all of them).
 * One who left (or was removed) has `leftAt` set and keeps seeing what they had: the messages up to
 * `visibleUntilMessageId`. Their side stays, but nothing more reaches it.
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
    joinedAt: at('joined_at').notNull().defaultNow(),
    visibleAfterMessageId: id('visible_after_message_id'),
    leftAt: at('left_at'),
    visibleUntilMessageId: id('visible_until_message_id'),
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

/**
 * The earlier times in a group of someone who left it and was added again: the window their side held before
 * (`participants` keeps the current one), so they keep what they had then without seeing what came in between.
 */
export const earlierMemberships = messaging.table(
  'earlier_memberships',
  {
    conversationId: id('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: id('user_id').notNull(),
    visibleAfterMessageId: id('visible_after_message_id'),
    visibleUntilMessageId: id('visible_until_message_id').notNull(),
  },
  (t) => [index('earlier_memberships_member_idx').on(t.conversationId, t.userId)],
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
 * One row per person who has ever been in a conversation. A send locks its people's rows before it takes a message id,
 * and every change that records inbox events locks them before the events take their ids, which serialises the writes
 * that touch one inbox: `lastMessageId` and `lastEventId` are that inbox's newest message and event, which lets a live
 * subscriber tell whether it missed one.
 */
export const mailboxes = messaging.table('mailboxes', {
  userId: id('user_id').primaryKey(),
  lastMessageId: id('last_message_id'),
  lastEventId: id('last_event_id'),
});

/** What an inbox event records, as stored (the GraphQL type of each is in inboxEvents.ts). */
export const INBOX_EVENT_KINDS = [
  'MESSAGE_SENT',
  'REACTION_CHANGED',
  'CONVERSATION_SEEN',
  'MESSAGE_UNSENT',
  'CONVERSATION_FILED',
  'MEMBERS_ADDED',
  'MEMBER_REMOVED',
  'GROUP_RENAMED',
] as const;
/** How the viewer filed a conversation, as stored (same names as the GraphQL enum). */
export const CONVERSATION_FILINGS = ['MOVED', 'ACCEPTED', 'DECLINED'] as const;

/**
 * Each person's inbox event log: one row per stored change to one of their conversations, per person it reaches. Ids
 * come from one identity sequence and are taken while that person's mailbox row is locked, so within one person's log
 * they increase in commit order: what `inboxEvents(after:)` replays by. The columns past `actorId` are the event's
 * details; which ones a kind uses is in inboxEvents.ts.
 */
export const inboxEvents = messaging.table(
  'inbox_events',
  {
    id: id().primaryKey().generatedAlwaysAsIdentity(),
    userId: id('user_id').notNull(),
    conversationId: id('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: INBOX_EVENT_KINDS }).notNull(),
    actorId: id('actor_id').notNull(),
    messageId: id('message_id').references(() => messages.id, { onDelete: 'cascade' }),
    emoji: text('emoji'),
    filing: text('filing', { enum: CONVERSATION_FILINGS }),
    folder: text('folder', { enum: INBOX_FOLDERS }),
    title: text('title'),
    memberIds: id('member_ids').array(),
    at: at('at').notNull().defaultNow(),
  },
  (t) => [index('inbox_events_user_idx').on(t.userId, t.id)],
);

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
