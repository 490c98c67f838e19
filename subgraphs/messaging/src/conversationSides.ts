// The viewer's side of a conversation: how it is read (joined to the conversation) and changed (seen, filed, answered).
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { badUserInput, type Db, type ViewerIdValue } from '@igt/common';
import * as schema from './db/schema.js';
import type { InboxFolder } from './mailbox.js';
import type { ConversationModel, ConversationRow, ParticipantRow } from './models.js';

const { conversations, participants } = schema;

/**
 * Condition: the `participants` row is `viewerId`'s side of the conversation `conversationId` names (a column, to
 * join on, or an id). Joined, it keeps a read to the viewer's own conversations: a row of someone else's finds no
 * side and drops out.
 */
export function viewersSideOf(conversationId: AnyPgColumn | number, viewerId: number): SQL {
  return and(eq(participants.conversationId, conversationId), eq(participants.userId, viewerId))!;
}

/**
 * The viewer's conversations matching `where`, each with the viewer's side: a dynamic query, so callers can add
 * an order and a limit. Map the rows with `toConversationModel`.
 */
export function selectViewersConversations(db: Db<typeof schema>, viewerId: ViewerIdValue, where?: SQL) {
  return db
    .select({ conversation: conversations, side: participants })
    .from(participants)
    .innerJoin(conversations, eq(conversations.id, participants.conversationId))
    .where(and(eq(participants.userId, viewerId), where))
    .$dynamic();
}

/** A row of `selectViewersConversations` as resolvers receive it: the conversation seen from the viewer's side. */
export function toConversationModel({
  conversation,
  side,
}: {
  conversation: ConversationRow;
  side: ParticipantRow;
}): ConversationModel {
  return { ...conversation, side };
}

/** Changes the viewer's side of `conversation` (and nobody else's). */
async function updateViewersSide(
  db: Db<typeof schema>,
  conversation: ConversationModel,
  change: PgUpdateSetSource<typeof participants>,
): Promise<void> {
  await db.update(participants).set(change).where(viewersSideOf(conversation.id, conversation.side.userId));
}

/** Marks everything in `conversation` seen by the viewer, up to its newest message; never moves the mark backwards. */
export async function markConversationSeen(db: Db<typeof schema>, conversation: ConversationModel): Promise<void> {
  // greatest() ignores nulls, so a first mark is the newest message.
  await updateViewersSide(db, conversation, {
    lastSeenMessageId: sql`greatest(${participants.lastSeenMessageId}, ${participants.lastMessageId})`,
  });
}

/**
 * Files `conversation` into `folder` for the viewer (showing it again if they had declined it). BAD_USER_INPUT for
 * REQUESTS: requests are what other people start; a person files conversations into Primary or General.
 */
export async function moveConversation(
  db: Db<typeof schema>,
  conversation: ConversationModel,
  folder: InboxFolder,
): Promise<void> {
  if (folder === 'REQUESTS')
    throw badUserInput('A conversation can be moved to PRIMARY or GENERAL, not REQUESTS.', 'folder');
  await updateViewersSide(db, conversation, { folder, declined: false });
}

/**
 * Accepts a message request: it moves to the viewer's Primary folder. Returns false when there was nothing to do
 * (already in Primary and not declined); BAD_USER_INPUT when the conversation is not a request.
 */
export async function acceptMessageRequest(db: Db<typeof schema>, conversation: ConversationModel): Promise<boolean> {
  const { folder, declined } = conversation.side;
  if (folder === 'PRIMARY' && !declined) return false;
  if (folder !== 'REQUESTS') throw badUserInput('This conversation is not a message request.', 'conversationId');
  await updateViewersSide(db, conversation, { folder: 'PRIMARY', declined: false });
  return true;
}

/**
 * Declines a message request: it leaves the viewer's inbox until the other person writes again (mailbox.ts shows it
 * again then). BAD_USER_INPUT when the conversation is not a request.
 */
export async function declineMessageRequest(db: Db<typeof schema>, conversation: ConversationModel): Promise<void> {
  if (conversation.side.folder !== 'REQUESTS')
    throw badUserInput('Only a message request can be declined.', 'conversationId');
  await updateViewersSide(db, conversation, { declined: true });
}
