// The viewer's side of a conversation: how it is read (joined to the conversation) and changed (seen, filed, answered).
import { and, eq, gt, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { badUserInput, type Db, type ViewerIdValue } from '@igt/common';
import { changeConversation, type ConversationChangeServices } from './conversationChanges.js';
import * as schema from './db/schema.js';
import type { InboxFolder } from './mailbox.js';
import type { ConversationModel, ConversationRow, ParticipantRow } from './models.js';

const { conversations, earlierMemberships, messages, participants } = schema;

/**
 * Condition: the `participants` row is `viewerId`'s side of the conversation `conversationId` names (a column, to
 * join on, or an id). Joined, it keeps a read to the viewer's own conversations: a row of someone else's finds no
 * side and drops out.
 */
export function viewersSideOf(conversationId: AnyPgColumn | number, viewerId: number): SQL {
  return and(eq(participants.conversationId, conversationId), eq(participants.userId, viewerId))!;
}

/**
 * Condition: the message whose id is `messageId` falls in a membership window of the `participants` row it is read
 * with (joined by `viewersSideOf`): after the newest message when they joined a group (`visibleAfterMessageId`; null:
 * from the start), and, once they left, up to the newest one then (`visibleUntilMessageId`; null: still a member); or
 * in one of their earlier times in it, when they left and were added again (`earlierMemberships`). Every read of
 * messages applies it, so a member never sees what came before they joined, after they left, or in between.
 */
export function withinMembership(messageId: AnyPgColumn): SQL {
  return or(
    and(
      or(isNull(participants.visibleAfterMessageId), gt(messageId, participants.visibleAfterMessageId)),
      or(isNull(participants.visibleUntilMessageId), lte(messageId, participants.visibleUntilMessageId)),
    ),
    sql`exists (
      select from ${earlierMemberships} earlier
      where earlier.conversation_id = ${participants.conversationId} and earlier.user_id = ${participants.userId}
        and (earlier.visible_after_message_id is null or ${messageId} > earlier.visible_after_message_id)
        and ${messageId} <= earlier.visible_until_message_id
    )`,
  )!;
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

/**
 * The viewer's mailbox, locked with the members' although they may have left a group: a change that records an
 * event for the viewer alone must hold their lock too (conversationChanges.ts).
 */
const viewersOwnMailbox = (viewerId: number) => ({ alsoLock: [viewerId] });

/** How the viewer filed a conversation. */
type Filing = (typeof schema.CONVERSATION_FILINGS)[number];

/** What filing the viewer's side does: how it is recorded, and the side's new folder and declined state. */
interface SideFiling {
  filing: Filing;
  folder: InboxFolder;
  declined: boolean;
}

/**
 * Files the viewer's side of `conversation` (and nobody else's) as `decide` says from the side as it stands under the
 * conversation's lock (a concurrent accept or decline has committed by then), and records it in the viewer's own
 * event log, so their other devices follow. `decide` answers null when there is nothing to change; then nothing is
 * recorded and this resolves to false.
 */
async function fileViewersSide(
  services: ConversationChangeServices,
  conversation: ConversationModel,
  decide: (side: ParticipantRow) => SideFiling | null,
): Promise<boolean> {
  const viewerId = conversation.side.userId;
  const filed = await changeConversation(
    services,
    conversation.id,
    async ({ tx }) => {
      const [side] = await tx.select().from(participants).where(viewersSideOf(conversation.id, viewerId)).for('update');
      const change = side ? decide(side) : null;
      if (!change) return { result: false, events: [] };
      const { filing, folder, declined } = change;
      await tx.update(participants).set({ folder, declined }).where(viewersSideOf(conversation.id, viewerId));
      const details = { conversationId: conversation.id, kind: 'CONVERSATION_FILED', actorId: viewerId } as const;
      return { result: true, events: [{ recipients: [viewerId], details: { ...details, filing, folder } }] };
    },
    viewersOwnMailbox(viewerId),
  );
  return filed ?? false;
}

/**
 * Marks everything in `conversation` seen by the viewer, up to its newest message; never moves the mark backwards.
 * When the mark moves, the other members get a read receipt, unless the conversation is a request the viewer has
 * not accepted (as Instagram does: a request's sender does not learn it was read); the viewer's own devices always do.
 */
export async function markConversationSeen(
  services: ConversationChangeServices,
  conversation: ConversationModel,
): Promise<void> {
  const viewerId = conversation.side.userId;
  await changeConversation(
    services,
    conversation.id,
    async ({ tx, members }) => {
      const [before] = await tx
        .select({ lastSeenMessageId: participants.lastSeenMessageId, folder: participants.folder })
        .from(participants)
        .where(viewersSideOf(conversation.id, viewerId));
      // greatest() ignores nulls, so a first mark is the newest message.
      const [after] = await tx
        .update(participants)
        .set({ lastSeenMessageId: sql`greatest(${participants.lastSeenMessageId}, ${participants.lastMessageId})` })
        .where(viewersSideOf(conversation.id, viewerId))
        .returning({
          lastSeenMessageId: participants.lastSeenMessageId,
          declined: participants.declined,
          // The mark can be a group's activity id, which no message has (conversationChanges.ts reserveActivityId):
          // then the receipt names no message.
          seenMessageId: sql<number | null>`(select seen.id from ${messages} seen
          where seen.id = ${participants.lastSeenMessageId})`.mapWith(Number),
        });
      if (!before || !after || after.lastSeenMessageId === before.lastSeenMessageId)
        return { result: undefined, events: [] };
      const receipt = before.folder !== 'REQUESTS' && !after.declined;
      const recipients = receipt && members.includes(viewerId) ? members : [viewerId];
      const details = {
        conversationId: conversation.id,
        kind: 'CONVERSATION_SEEN',
        actorId: viewerId,
        messageId: after.seenMessageId,
      } as const;
      return { result: undefined, events: [{ recipients, details }] };
    },
    viewersOwnMailbox(viewerId),
  );
}

/**
 * Files `conversation` into `folder` for the viewer (showing it again if they had declined it). BAD_USER_INPUT for
 * REQUESTS: requests are what other people start; a person files conversations into Primary or General. Moving it
 * where it already is changes and records nothing.
 */
export async function moveConversation(
  services: ConversationChangeServices,
  conversation: ConversationModel,
  folder: InboxFolder,
): Promise<void> {
  if (folder === 'REQUESTS')
    throw badUserInput('A conversation can be moved to PRIMARY or GENERAL, not REQUESTS.', 'folder');
  await fileViewersSide(services, conversation, (side) =>
    side.folder === folder && !side.declined ? null : { filing: 'MOVED', folder, declined: false },
  );
}

/**
 * Accepts a message request: it moves to the viewer's Primary folder. Returns false when there was nothing to do
 * (already in Primary and not declined); BAD_USER_INPUT when the conversation is not a request.
 */
export async function acceptMessageRequest(
  services: ConversationChangeServices,
  conversation: ConversationModel,
): Promise<boolean> {
  return fileViewersSide(services, conversation, ({ folder, declined }) => {
    if (folder === 'PRIMARY' && !declined) return null;
    if (folder !== 'REQUESTS') throw badUserInput('This conversation is not a message request.', 'conversationId');
    return { filing: 'ACCEPTED', folder: 'PRIMARY', declined: false };
  });
}

/**
 * Declines a message request: it leaves the viewer's inbox until the other person writes again (mailbox.ts shows it
 * again then). BAD_USER_INPUT when the conversation is not a request; declining twice changes nothing.
 */
export async function declineMessageRequest(
  services: ConversationChangeServices,
  conversation: ConversationModel,
): Promise<void> {
  await fileViewersSide(services, conversation, ({ folder, declined }) => {
    if (folder !== 'REQUESTS') throw badUserInput('Only a message request can be declined.', 'conversationId');
    return declined ? null : { filing: 'DECLINED', folder, declined: true };
  });
}
