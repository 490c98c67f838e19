// Storing a direct message: the mailbox locks that order each inbox's messages, the conversation, both sides.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '@igt/common';
import * as schema from './db/schema.js';
import { firstMessageFolder } from './firstMessageFolder.js';
import type { ConversationRow, MessageModel } from './models.js';

const { conversations, mailboxes, messages, participants } = schema;

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

/** What a delivery did. `previousMessageId` is each participant's newest message before this one, by user id. */
export type Delivery =
  | {
      kind: 'delivered';
      message: MessageModel;
      conversation: ConversationRow;
      previousMessageId: Map<number, number | null>;
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

  // Both sides show the conversation again (a decliner sees a new message from the same person as a request again),
  // and a reply to a request accepts it for the person replying.
  await tx
    .update(participants)
    .set({
      lastMessageId: message!.id,
      declined: false,
      folder: sql`case when ${participants.userId} = ${senderId} and ${participants.folder} = 'REQUESTS' then 'PRIMARY' else ${participants.folder} end`,
    })
    .where(eq(participants.conversationId, conversationId));
  await tx
    .update(mailboxes)
    .set({ lastMessageId: message!.id })
    .where(inArray(mailboxes.userId, [low, high]));

  return {
    kind: 'delivered',
    message: message!,
    conversation: conversation!,
    previousMessageId: new Map(boxes.map((box) => [box.userId, box.lastMessageId])),
  };
}
