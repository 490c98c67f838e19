// Every stored change to a conversation, in one transaction shape: lock, change, record inbox events, commit, announce.
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, Logger, PubSub } from '@igt/common';
import * as schema from './db/schema.js';
import { appendInboxEvents, publishInboxEvents, type AppendedInboxEvent, type InboxEventEntry } from './inboxEvents.js';
import type { Tx } from './mailbox.js';
import type { Loaders } from './loaders.js';
import type { ConversationRow } from './models.js';

const { conversations, mailboxes, participants } = schema;

/**
 * What a conversation change needs: the database, where it announces its events after commit, and the request's
 * loaders, whose blocks it brings up to date first (an event is not recorded for someone its actor has blocked).
 */
export interface ConversationChangeServices {
  db: Db<typeof schema>;
  pubsub: PubSub;
  logger: Logger;
  loaders: Pick<Loaders, 'catchUpBlocks'>;
}

/** What the change sees once its locks are held. */
export interface LockedConversation {
  tx: Tx;
  conversation: ConversationRow;
  /** The conversation's current members (whose `leftAt` is null), by ascending user id. */
  members: number[];
}

/** What a change did: its result, and the events to record (each for the people it reaches). */
export interface ConversationChangeResult<R> {
  result: R;
  events: InboxEventEntry[];
  /**
   * How to announce the recorded events after commit, when not one announcement per event (the default): a send
   * announces each member's event together with the message (directMessages.ts `publishDelivery`).
   */
  announce?: (appended: AppendedInboxEvent[]) => Promise<void>;
}

/**
 * Locks the mailbox rows of `userIds` (creating missing ones), lowest user id first: every writer that touches more
 * than one inbox takes them in this order, so none can deadlock with another. ORDER BY sits below the row locking in
 * the plan, so the rows are locked in this order.
 */
export async function lockMailboxes(tx: Tx, userIds: readonly number[]): Promise<void> {
  const ids = [...new Set(userIds)].sort((a, b) => a - b);
  if (!ids.length) return;
  await tx
    .insert(mailboxes)
    .values(ids.map((userId) => ({ userId })))
    .onConflictDoNothing();
  await tx
    .select({ userId: mailboxes.userId })
    .from(mailboxes)
    .where(inArray(mailboxes.userId, ids))
    .orderBy(asc(mailboxes.userId))
    .for('update');
}

/**
 * Runs `change` on conversation `conversationId` in one transaction, then announces the events it recorded.
 *
 * The order of locks is what makes the event log trustworthy: first the conversation row (so membership cannot change
 * underneath: adding, removing and leaving go through here too), then the mailbox rows of every current member and of
 * `alsoLock` (people about to join, or who left and still hear of their own changes), lowest user id first. Events take their ids while those rows are locked, so each
 * person's log increases in commit order, and a member who joins or leaves is either in a change or not, never half.
 * Nothing that locks mailboxes first ever waits for a conversation row, so the two orders cannot deadlock.
 *
 * Returns null when the conversation does not exist. Events are announced only after commit; pub/sub is at-most-once,
 * so a lost announcement is replayed from the log by a subscriber that resumes.
 */
export async function changeConversation<R>(
  { db, pubsub, logger, loaders }: ConversationChangeServices,
  conversationId: number,
  change: (locked: LockedConversation) => Promise<ConversationChangeResult<R>>,
  { alsoLock = [] }: { alsoLock?: readonly number[] } = {},
): Promise<R | null> {
  await loaders.catchUpBlocks();
  const committed = await db.transaction(async (tx) => {
    const [conversation] = await tx
      .select()
      .from(conversations)
      .where(eq(conversations.id, conversationId))
      .for('no key update');
    if (!conversation) return null;
    const rows = await tx
      .select({ userId: participants.userId })
      .from(participants)
      .where(and(eq(participants.conversationId, conversationId), isNull(participants.leftAt)))
      .orderBy(asc(participants.userId));
    const members = rows.map((row) => row.userId);
    await lockMailboxes(tx, [...members, ...alsoLock]);
    const { result, events, announce } = await change({ tx, conversation, members });
    const appended = await appendInboxEvents(tx, events);
    return { result, appended, announce };
  });
  if (!committed) return null;
  const { result, appended, announce } = committed;
  await (announce ? announce(appended) : publishInboxEvents(pubsub, appended, logger));
  return result;
}

/**
 * A fresh id from the message sequence that no message will ever have: the place in the inbox of activity that is
 * not a message (a group created, someone added to one). Every later message of the conversation has a greater id,
 * so as a member's `lastMessageId` it orders the inbox and bounds what they see, like a message id would.
 */
export async function reserveActivityId(tx: Tx): Promise<number> {
  const result = await tx.execute(
    sql`select nextval(pg_get_serial_sequence('messaging.messages', 'id'))::bigint as id`,
  );
  // Both drivers (node-postgres and PGlite) answer a raw statement with its rows under `rows`.
  const [row] = (result as unknown as { rows: { id: string | number }[] }).rows;
  return Number(row!.id);
}

/** The conversation's newest message id (0 for none), as every member's side repeats it. */
export async function newestMessageId(tx: Tx, conversationId: number): Promise<number> {
  const [row] = await tx
    .select({ id: sql<number | null>`max(${participants.lastMessageId})`.mapWith(Number) })
    .from(participants)
    .where(eq(participants.conversationId, conversationId));
  return row?.id ?? 0;
}
