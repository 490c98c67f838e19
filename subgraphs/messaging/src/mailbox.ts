// Storing a direct message: the mailbox locks that order each inbox, the conversation, both sides, their events.
import { and, asc, eq, getTableColumns, inArray, sql, type Table } from 'drizzle-orm';
import type { Db } from '@igt/common';
import * as schema from './db/schema.js';
import { firstMessageFolder } from './firstMessageFolder.js';
import { appendInboxEvents, type AppendedInboxEvent } from './inboxEvents.js';
import type { ConversationModel, MessageModel } from './models.js';

const { conversations, inboxEvents, mailboxes, messages, participants } = schema;

/** A transaction on the Messaging database. */
export type Tx = Parameters<Parameters<Db<typeof schema>['transaction']>[0]>[0];

/** A folder of a person's inbox. */
export type InboxFolder = (typeof schema.INBOX_FOLDERS)[number];
/** Where a message was sent from. */
export type MessageSource = (typeof schema.MESSAGE_SOURCES)[number];

/** A message to store; the text and key are already validated. */
export interface NewMessage {
  senderId: number;
  recipientId: number;
  text: string;
  source: MessageSource;
  idempotencyKey?: string | null;
  /** Only the seed sets this, to spread its messages over time. */
  sentAt?: Date;
  /**
   * Only the seed sets this: the recipient's folder when this message starts the conversation, instead of what
   * `firstMessageFolder` decides, so demo data does not depend on which follows the projection holds yet.
   */
  recipientFolder?: InboxFolder;
}

/**
 * What a delivery did. `conversation` is seen from the sender's side; `previousMessageId` is each participant's newest
 * message before this one, by user id; `events` are the MESSAGE_SENT inbox events it recorded, one per participant.
 */
export type Delivery =
  | {
      kind: 'delivered';
      message: MessageModel;
      conversation: ConversationModel;
      previousMessageId: Map<number, number | null>;
      events: AppendedInboxEvent[];
    }
  | { kind: 'duplicate'; message: MessageModel };

/** The sender's earlier message with this idempotency key, if any. */
export async function findByIdempotencyKey(
  db: Db<typeof schema> | Tx,
  senderId: number,
  key: string,
): Promise<MessageModel | null> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.senderId, senderId), eq(messages.idempotencyKey, key)))
    .limit(1);
  return row ?? null;
}

/**
 * How a new message changes each member's side of its conversation: it is their newest, the conversation shows again
 * (a decliner sees a new message from the same person as a request again), and a reply to a request accepts it for
 * the person replying. appendMessage below does the same in SQL.
 */
export function sideAfterMessage(senderId: number, messageId: number) {
  return {
    lastMessageId: messageId,
    declined: false,
    folder: sql<InboxFolder>`case when ${participants.userId} = ${senderId} and ${participants.folder} = 'REQUESTS' then 'PRIMARY' else ${participants.folder} end`,
  };
}

/**
 * Stores a message inside `tx`. It first locks both people's mailbox rows, lowest user id first so that two sends
 * between the same people in opposite directions cannot deadlock. Holding those locks while the message takes its id
 * means every message touching one inbox gets its id and commits in the same order, which is what lets a subscriber
 * replay "everything after id N" without a gap. It also serialises one sender's sends, so the idempotency key check
 * below cannot race with itself.
 */
export async function deliverMessage(tx: Tx, input: NewMessage): Promise<Delivery> {
  const { senderId, recipientId, text, source, idempotencyKey = null, sentAt } = input;
  const [low, high] = senderId < recipientId ? [senderId, recipientId] : [recipientId, senderId];

  await tx
    .insert(mailboxes)
    .values([{ userId: low }, { userId: high }])
    .onConflictDoNothing();
  // ORDER BY sits below the row locking in the plan, so the rows are locked in this order.
  const boxes = await tx
    .select()
    .from(mailboxes)
    .where(inArray(mailboxes.userId, [low, high]))
    .orderBy(asc(mailboxes.userId))
    .for('update');

  if (idempotencyKey !== null) {
    const first = await findByIdempotencyKey(tx, senderId, idempotencyKey);
    if (first) return { kind: 'duplicate', message: first };
  }

  let [conversation] = await tx
    .select()
    .from(conversations)
    .where(and(eq(conversations.userLowId, low), eq(conversations.userHighId, high)))
    .limit(1);
  if (!conversation) {
    [conversation] = await tx.insert(conversations).values({ userLowId: low, userHighId: high }).returning();
    await tx.insert(participants).values([
      { conversationId: conversation!.id, userId: senderId, folder: 'PRIMARY' },
      {
        conversationId: conversation!.id,
        userId: recipientId,
        folder: input.recipientFolder ?? (await firstMessageFolder(tx, senderId, recipientId)),
      },
    ]);
  }
  const conversationId = conversation!.id;

  const [message] = await tx
    .insert(messages)
    .values({ conversationId, senderId, text, source, idempotencyKey, ...(sentAt ? { sentAt } : {}) })
    .returning();

  const sides = await tx
    .update(participants)
    .set(sideAfterMessage(senderId, message!.id))
    .where(eq(participants.conversationId, conversationId))
    .returning();
  await tx
    .update(mailboxes)
    .set({ lastMessageId: message!.id })
    .where(inArray(mailboxes.userId, [low, high]));
  const events = await appendInboxEvents(tx, [
    {
      recipients: [low, high],
      details: { conversationId, kind: 'MESSAGE_SENT', actorId: senderId, messageId: message!.id },
    },
  ]);

  return {
    kind: 'delivered',
    message: message!,
    conversation: { ...conversation!, side: sides.find((side) => side.userId === senderId)! },
    previousMessageId: new Map(boxes.map((box) => [box.userId, box.lastMessageId])),
    events,
  };
}

/** A row of `table` as `to_jsonb` gives it (column names as stored), as drizzle would have read it. */
function fromJson<T extends Table>(table: T, json: Record<string, unknown>): T['$inferSelect'] {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = json[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T['$inferSelect'];
}

/**
 * What appendMessage's statement answers: the rows it wrote, as JSON, each mailbox's newest message and event before,
 * and each participant's newest new event, by user id.
 */
interface AppendedRow {
  message: Record<string, unknown>;
  conversation: Record<string, unknown>;
  side: Record<string, unknown>;
  previous: Record<string, { message: number | null; event: number | null }>;
  events: Record<string, number>;
}

/**
 * A message in a one-to-one conversation that exists, in one statement: what deliverMessage does in a transaction
 * (inbox events included, and the replier's ACCEPTED filing when the reply accepts a request), in the same order and
 * under the same locks. The mailbox rows are locked first, lowest user id first (ORDER BY sits below the
 * row locking in the plan); the message only takes its id once the count of locked rows is known, so after both
 * locks. Those locks are held until the statement commits. Null when there is nothing to append to (no conversation
 * or mailbox yet) or the sender already used the key: deliverMessage sorts those out. The key check reads the
 * statement's snapshot, taken before any wait for a lock, so two concurrent sends with one key can both pass it; the
 * unique index on (sender, key) then refuses the second, which its caller answers with the first message.
 */
async function appendMessage(
  db: Db<typeof schema>,
  input: Omit<NewMessage, 'sentAt' | 'recipientFolder'>,
): Promise<Delivery | null> {
  const { senderId, recipientId, text, source, idempotencyKey = null } = input;
  const [low, high] = senderId < recipientId ? [senderId, recipientId] : [recipientId, senderId];
  const result = await db.execute(sql`
    with boxes as materialized (
      select user_id, last_message_id, last_event_id from ${mailboxes}
      where user_id in (${low}, ${high}) order by user_id for update
    ),
    conversation as materialized (
      select * from ${conversations}
      where user_low_id = ${low} and user_high_id = ${high} and (select count(*) from boxes) = 2
    ),
    message as (
      insert into ${messages} (conversation_id, sender_id, text, source, idempotency_key)
      select id, ${senderId}::bigint, ${text}::text, ${source}::text, ${idempotencyKey}::text from conversation
      where not exists (
        select from ${messages} where sender_id = ${senderId} and idempotency_key = ${idempotencyKey}::text
      )
      returning *
    ),
    sides as (
      update ${participants} side
      set last_message_id = message.id, declined = false,
        folder = case when side.user_id = ${senderId} and side.folder = 'REQUESTS' then 'PRIMARY' else side.folder end
      from message where side.conversation_id = message.conversation_id
      returning side.*
    ),
    accepted as (
      select side.user_id from ${participants} side, message
      where side.conversation_id = message.conversation_id and side.user_id = ${senderId} and side.folder = 'REQUESTS'
    ),
    events as (
      insert into ${inboxEvents} (user_id, conversation_id, kind, actor_id, message_id, filing, folder, at)
      select user_id, conversation_id, kind, ${senderId}::bigint, message_id, filing, folder, clock_timestamp() from (
        select boxes.user_id, message.conversation_id, 'MESSAGE_SENT' as kind, message.id as message_id,
          null as filing, null as folder, 0 as step
        from boxes, message
        union all
        select accepted.user_id, message.conversation_id, 'CONVERSATION_FILED', null, 'ACCEPTED', 'PRIMARY', 1
        from accepted, message
      ) new_events order by user_id, step
      returning id, user_id
    ),
    newest as (select user_id, max(id) as id from events group by user_id),
    inboxes as (
      update ${mailboxes} box set last_message_id = message.id, last_event_id = newest.id
      from message, newest where box.user_id = newest.user_id
    )
    select to_jsonb(message) as message, to_jsonb(conversation) as conversation,
      (select to_jsonb(sides) from sides where user_id = ${senderId}) as side,
      (select jsonb_object_agg(user_id, jsonb_build_object('message', last_message_id, 'event', last_event_id))
        from boxes) as previous,
      (select jsonb_object_agg(user_id, id) from newest) as events
    from message, conversation`);
  // Both drivers (node-postgres and PGlite) answer a raw statement with its rows under `rows`.
  const [row] = (result as { rows: AppendedRow[] }).rows;
  if (!row) return null;
  return {
    kind: 'delivered',
    message: fromJson(messages, row.message),
    conversation: { ...fromJson(conversations, row.conversation), side: fromJson(participants, row.side) },
    previousMessageId: new Map(Object.entries(row.previous).map(([userId, last]) => [Number(userId), last.message])),
    events: Object.entries(row.events).map(([userId, id]) => ({
      userId: Number(userId),
      id,
      previousId: row.previous[userId]?.event ?? null,
    })),
  };
}

/**
 * Sends a message: one statement when the conversation exists (appendMessage), otherwise a transaction that opens it
 * or finds the earlier message with the same key (deliverMessage).
 */
export async function sendMessage(
  db: Db<typeof schema>,
  input: Omit<NewMessage, 'sentAt' | 'recipientFolder'>,
): Promise<Delivery> {
  return (await appendMessage(db, input)) ?? (await db.transaction((tx) => deliverMessage(tx, input)));
}
