// Group conversations: creating one, sending into it, and who is in it (members, admin, title), with their events.
import { and, asc, eq, inArray, isNotNull, isNull, notExists, or, sql } from 'drizzle-orm';
import { badUserInput, codedError, ErrorCode, forbidden, isUniqueViolation, notFound } from '@igt/common';
import {
  changeConversation,
  lockMailboxes,
  newestMessageId,
  reserveActivityId,
  type ConversationChangeServices,
} from './conversationChanges.js';
import { selectViewersConversations, toConversationModel, viewersSideOf } from './conversationSides.js';
import * as schema from './db/schema.js';
import { publishDelivery } from './directMessages.js';
import { firstMessageFolders } from './firstMessageFolder.js';
import { appendInboxEvents, publishInboxEvents, type InboxEventDetails } from './inboxEvents.js';
import type { KnownUsers } from './knownUsers.js';
import { findByIdempotencyKey, sideAfterMessage, type Delivery, type InboxFolder, type Tx } from './mailbox.js';
import type { ConversationModel, ConversationRow } from './models.js';
import type { RelationshipProjection } from './relationshipProjection.js';

const { blocks, conversations, earlierMemberships, mailboxes, messages, participants } = schema;

/** Most members a group may have, its admin included. */
export const MAX_GROUP_MEMBERS = 32;
/** Fewest other people a group starts with: with one, it would be a one-to-one conversation. */
const MIN_GROUP_OTHERS = 2;
/** Longest group title, in characters (code points). */
const MAX_TITLE_LENGTH = 100;

/** What group changes need: a conversation change's services, and what decides who may join. */
export interface GroupServices extends ConversationChangeServices {
  relationships: Pick<RelationshipProjection, 'catchUp'>;
  knownUsers: Pick<KnownUsers, 'existing'>;
}

/** A group to create; the ids are parsed and the title and key validated. */
export interface NewGroup {
  creatorId: number;
  /** The other people, without the creator. */
  memberIds: readonly number[];
  title: string | null;
  idempotencyKey: string | null;
}

/** A group's title, trimmed: 1–100 characters, not only whitespace; BAD_USER_INPUT naming `argument` otherwise. */
export function validateGroupTitle(title: string, argument: string): string {
  const value = title.trim();
  const length = [...value].length;
  if (length < 1 || length > MAX_TITLE_LENGTH) {
    throw badUserInput(
      `\`title\` must be 1–${MAX_TITLE_LENGTH} characters, not only whitespace; got ${length}.`,
      argument,
    );
  }
  return value;
}

/**
 * People to bring into a group: someone, nobody twice, and not the viewer (who is in it already); BAD_USER_INPUT
 * otherwise.
 */
export function validateNewcomers(ids: readonly number[], viewerId: number, argument: string): number[] {
  if (!ids.length) throw badUserInput('`memberIds` must name someone.', argument);
  if (ids.includes(viewerId)) throw badUserInput('`memberIds` must not include yourself.', argument);
  if (new Set(ids).size !== ids.length) throw badUserInput('`memberIds` must not name anyone twice.', argument);
  return [...ids];
}

/**
 * Refuses newcomers that name nobody (NOT_FOUND), after catching up with Instagram's follows and blocks strictly: a
 * block Instagram has acknowledged counts at once (refuseBlocked), and the follows decide each newcomer's folder.
 */
async function admitNewcomers({ relationships, knownUsers }: GroupServices, newcomers: readonly number[]) {
  await relationships.catchUp();
  const existing = await knownUsers.existing(newcomers);
  const nobody = newcomers.find((id) => !existing.has(id));
  if (nobody !== undefined) throw notFound(`No user has id ${nobody}.`);
}

/**
 * Messaging's rule "nobody joins a group with someone they blocked or who blocked them", in one query: refuses when a
 * block stands between a newcomer and the actor, another newcomer or a current member. Someone who blocked the actor
 * does not exist for them (hiddenFrom.ts), so that is NOT_FOUND, as a send to them is; one the actor blocked is
 * RECIPIENT_BLOCKED, and so is a block among the others.
 */
async function refuseBlocked(tx: Tx, actorId: number, newcomers: readonly number[], members: readonly number[]) {
  const everyone = [...new Set([actorId, ...members, ...newcomers])];
  const between = await tx
    .select({ blockerId: blocks.blockerId, blockedId: blocks.blockedId })
    .from(blocks)
    .where(
      or(
        and(inArray(blocks.blockerId, [...newcomers]), inArray(blocks.blockedId, everyone)),
        and(inArray(blocks.blockedId, [...newcomers]), inArray(blocks.blockerId, everyone)),
      ),
    );
  const hidden = between.find((block) => block.blockedId === actorId);
  if (hidden) throw notFound(`No user has id ${hidden.blockerId}.`);
  const blockedByActor = between.find((block) => block.blockerId === actorId);
  if (blockedByActor) {
    throw codedError(
      ErrorCode.RecipientBlocked,
      `You have blocked user ${blockedByActor.blockedId}: unblock them to add them to a group.`,
      { argument: 'memberIds' },
    );
  }
  if (between.length) {
    const refused = [...new Set(between.flatMap((block) => [block.blockerId, block.blockedId]))];
    throw codedError(
      ErrorCode.RecipientBlocked,
      `Users ${refused.filter((id) => newcomers.includes(id)).join(', ')} cannot join: a block stands between them ` +
        'and someone in the group.',
      { argument: 'memberIds' },
    );
  }
}

/** The group `creatorId` created with `idempotencyKey`, from their side, if any. */
async function groupByIdempotencyKey(
  { db }: GroupServices,
  creatorId: number,
  idempotencyKey: string,
): Promise<ConversationModel | null> {
  const [row] = await selectViewersConversations(
    db,
    creatorId,
    and(eq(conversations.creatorId, creatorId), eq(conversations.idempotencyKey, idempotencyKey)),
  ).limit(1);
  return row ? toConversationModel(row) : null;
}

/**
 * Creates a group of its creator (its admin) and 2–31 other people, and records MEMBERS_ADDED (all of them) in
 * everyone's log. Each member finds it in PRIMARY if they follow the creator, in REQUESTS otherwise; the creator in
 * PRIMARY. With an idempotency key, a retry returns the first group. Returns it from the creator's side.
 */
export async function createGroup(services: GroupServices, group: NewGroup): Promise<ConversationModel> {
  const { db, pubsub, logger } = services;
  const { creatorId, memberIds, idempotencyKey } = group;
  const retried = idempotencyKey === null ? null : await groupByIdempotencyKey(services, creatorId, idempotencyKey);
  if (retried) return retried;
  if (memberIds.length < MIN_GROUP_OTHERS || memberIds.length > MAX_GROUP_MEMBERS - 1) {
    throw badUserInput(
      `A group starts with ${MIN_GROUP_OTHERS}–${MAX_GROUP_MEMBERS - 1} other people, got ${memberIds.length}.`,
      'input.memberIds',
    );
  }
  await admitNewcomers(services, memberIds);

  let committed;
  try {
    committed = await db.transaction(async (tx) => {
      await lockMailboxes(tx, [creatorId, ...memberIds]);
      await refuseBlocked(tx, creatorId, memberIds, []);
      const folders = await firstMessageFolders(tx, creatorId, memberIds);
      return storeGroup(tx, { ...group, folders });
    });
  } catch (error) {
    // Two creates with one key at the same moment: the unique index lets only the first one in.
    const first =
      idempotencyKey !== null && isUniqueViolation(error)
        ? await groupByIdempotencyKey(services, creatorId, idempotencyKey)
        : null;
    if (first) return first;
    throw error;
  }
  await publishInboxEvents(pubsub, committed.appended, logger);
  return committed.conversation;
}

/**
 * Stores a new group inside `tx`, whose caller holds every member's mailbox lock and has checked the members: the
 * conversation, everyone's side (the creator's in PRIMARY, each other member's in `folders`), and MEMBERS_ADDED (all of
 * them) in everyone's log. Returns the group from the creator's side and the events to announce after commit.
 */
export async function storeGroup(tx: Tx, group: NewGroup & { folders: ReadonlyMap<number, InboxFolder> }) {
  const { creatorId, memberIds, title, idempotencyKey, folders } = group;
  const everyone = [creatorId, ...memberIds];
  const [conversation] = await tx
    .insert(conversations)
    .values({ kind: 'GROUP', title, adminId: creatorId, creatorId, idempotencyKey })
    .returning();
  const conversationId = conversation!.id;
  // No message yet: the group takes its place in everyone's inbox from an id of its own.
  const activityId = await reserveActivityId(tx);
  const sides = await tx
    .insert(participants)
    .values(
      everyone.map((userId) => ({
        conversationId,
        userId,
        folder: userId === creatorId ? ('PRIMARY' as const) : folders.get(userId)!,
        lastMessageId: activityId,
      })),
    )
    .returning();
  const appended = await appendInboxEvents(tx, [
    {
      recipients: everyone,
      details: { conversationId, kind: 'MEMBERS_ADDED', actorId: creatorId, memberIds: everyone },
    },
  ]);
  const side = sides.find((row) => row.userId === creatorId)!;
  return { conversation: { ...conversation!, side } as ConversationModel, appended };
}

/** A message to send into a group; the text and key are validated. */
export interface GroupMessage {
  senderId: number;
  text: string;
  idempotencyKey: string | null;
}

/**
 * Sends a message into a group the sender is a member of (FORBIDDEN once they left): under the conversation's lock,
 * so membership cannot change meanwhile, it reaches every current member's side and mailbox (but those the sender
 * blocked), records MESSAGE_SENT in each of their logs (and the sender's ACCEPTED filing when it answers a request),
 * and is announced once per member with that event. A retry with the sender's key finds the first message instead
 * (`duplicate`).
 */
export async function sendToGroup(
  services: ConversationChangeServices,
  conversation: ConversationModel,
  { senderId, text, idempotencyKey }: GroupMessage,
): Promise<Delivery> {
  const { pubsub, logger } = services;
  const delivery = await changeConversation(services, conversation.id, async ({ tx, conversation: group, members }) => {
    const first = idempotencyKey === null ? null : await findByIdempotencyKey(tx, senderId, idempotencyKey);
    if (first) return { result: { kind: 'duplicate', message: first } as Delivery, events: [] };
    if (!members.includes(senderId)) throw forbidden('You are no longer a member of this group.');

    const { delivered, events } = await storeGroupMessage(tx, group, members, { senderId, text, idempotencyKey });
    return {
      result: delivered as Delivery,
      events,
      announce: (appended) => publishDelivery(pubsub, { ...delivered, events: appended }, logger),
    };
  });
  if (!delivery) throw notFound(`You have no conversation with id ${conversation.id}.`);
  return delivery;
}

/**
 * Stores a message in group `group` inside `tx`, whose caller holds the conversation's lock and the mailbox locks of
 * its current `members`: it reaches every member's side and mailbox but those the sender has blocked (from whom the
 * sender's messages are hidden: hiddenFrom.ts), and returns the delivery with the events to record: MESSAGE_SENT for
 * each member reached, and the sender's ACCEPTED filing when it answers a request.
 */
export async function storeGroupMessage(
  tx: Tx,
  group: ConversationRow,
  members: readonly number[],
  { senderId, text, idempotencyKey, sentAt }: GroupMessage & { sentAt?: Date },
) {
  // Whom it reaches: every member but those the sender has blocked, from whom the sender's messages are hidden
  // (hiddenFrom.ts), so none is announced to them either. Their mailboxes are locked (changeConversation): with
  // their newest messages before this one.
  const boxes = await tx
    .select({ userId: mailboxes.userId, lastMessageId: mailboxes.lastMessageId })
    .from(mailboxes)
    .where(
      and(
        inArray(mailboxes.userId, [...members]),
        notExists(
          tx
            .select({ blockedId: blocks.blockedId })
            .from(blocks)
            .where(and(eq(blocks.blockerId, senderId), eq(blocks.blockedId, mailboxes.userId))),
        ),
      ),
    );
  const reached = boxes.map((box) => box.userId);
  // A reply to a group the sender has in REQUESTS accepts it (sideAfterMessage): recorded as such for them.
  const [before] = await tx
    .select({ folder: participants.folder })
    .from(participants)
    .where(viewersSideOf(group.id, senderId));
  const [message] = await tx
    .insert(messages)
    .values({
      conversationId: group.id,
      senderId,
      text,
      source: 'INSTAGRAM',
      idempotencyKey,
      ...(sentAt ? { sentAt } : {}),
    })
    .returning();
  const sides = await tx
    .update(participants)
    .set(sideAfterMessage(senderId, message!.id))
    .where(and(eq(participants.conversationId, group.id), inArray(participants.userId, reached)))
    .returning();
  await tx.update(mailboxes).set({ lastMessageId: message!.id }).where(inArray(mailboxes.userId, reached));
  const delivered = {
    kind: 'delivered',
    message: message!,
    conversation: { ...group, side: sides.find((side) => side.userId === senderId)! },
    previousMessageId: new Map(boxes.map((box) => [box.userId, box.lastMessageId])),
    events: [],
  } satisfies Delivery;
  const details = {
    conversationId: group.id,
    kind: 'MESSAGE_SENT',
    actorId: senderId,
    messageId: message!.id,
  } as const;
  const accepted = {
    conversationId: group.id,
    kind: 'CONVERSATION_FILED',
    actorId: senderId,
    filing: 'ACCEPTED',
    folder: 'PRIMARY',
  } as const;
  return {
    delivered,
    events: [
      { recipients: reached, details },
      ...(before?.folder === 'REQUESTS' ? [{ recipients: [senderId], details: accepted }] : []),
    ],
  };
}

/**
 * Refuses unless `conversation` is a group whose admin is `viewerId`: BAD_USER_INPUT for a one-to-one conversation,
 * FORBIDDEN for anyone but the admin. Asked before a change, and again on the row as locked (the admin may change)
 * with its current `members`: the last member to leave stays its admin on paper, with no rights left.
 */
function requireAdmin(conversation: ConversationRow, viewerId: number, members?: readonly number[]): void {
  if (conversation.kind !== 'GROUP') throw badUserInput('This conversation is not a group.', 'conversationId');
  if (conversation.adminId !== viewerId || (members && !members.includes(viewerId)))
    throw forbidden("Only the group's admin can do this.");
}

/** Runs a change of a group's membership or title; NOT_FOUND if the conversation went away meanwhile. */
async function changeGroup(...args: Parameters<typeof changeConversation<void>>): Promise<void> {
  const done = await changeConversation<void>(...args);
  if (done === null) throw notFound(`You have no conversation with id ${args[1]}.`);
}

/**
 * Adds people to a group (its admin only), at most 32 members in all, blocks respected as for createGroup. A newcomer
 * sees the messages sent from now on; one who had left comes back on the same terms and keeps what they had before
 * (not what came in between). Those already in it are left as they are. Records MEMBERS_ADDED (the newcomers) for
 * every member, newcomers included.
 */
export async function addGroupMembers(
  services: GroupServices,
  conversation: ConversationModel,
  adminId: number,
  memberIds: readonly number[],
): Promise<void> {
  requireAdmin(conversation, adminId);
  await admitNewcomers(services, memberIds);
  const conversationId = conversation.id;
  await changeGroup(
    services,
    conversationId,
    async ({ tx, conversation: group, members }) => {
      requireAdmin(group, adminId, members);
      const newcomers = memberIds.filter((id) => !members.includes(id));
      if (!newcomers.length) return { result: undefined, events: [] };
      if (members.length + newcomers.length > MAX_GROUP_MEMBERS) {
        throw badUserInput(
          `A group has at most ${MAX_GROUP_MEMBERS} members: it has ${members.length}, and ${newcomers.length} would join.`,
          'memberIds',
        );
      }
      await refuseBlocked(tx, adminId, newcomers, members);
      const visibleAfterMessageId = await newestMessageId(tx, conversationId);
      const lastMessageId = await reserveActivityId(tx);
      const folders = await firstMessageFolders(tx, adminId, newcomers);
      const joined = { lastMessageId, visibleAfterMessageId, joinedAt: new Date() };
      // Someone who left and comes back keeps what they had: their earlier window is kept beside the new one.
      await tx.insert(earlierMemberships).select(
        tx
          .select({
            conversationId: participants.conversationId,
            userId: participants.userId,
            visibleAfterMessageId: participants.visibleAfterMessageId,
            visibleUntilMessageId: sql<number>`coalesce(${participants.visibleUntilMessageId}, 0)`.as(
              'visible_until_message_id',
            ),
          })
          .from(participants)
          .where(
            and(
              eq(participants.conversationId, conversationId),
              inArray(participants.userId, newcomers),
              isNotNull(participants.leftAt),
            ),
          ),
      );
      await tx
        .insert(participants)
        .values(newcomers.map((userId) => ({ conversationId, userId, folder: folders.get(userId)!, ...joined })))
        .onConflictDoUpdate({
          target: [participants.conversationId, participants.userId],
          set: { ...joined, declined: false, leftAt: null, visibleUntilMessageId: null },
        });
      const details = { conversationId, kind: 'MEMBERS_ADDED', actorId: adminId, memberIds: newcomers } as const;
      return { result: undefined, events: [{ recipients: [...members, ...newcomers], details }] };
    },
    { alsoLock: memberIds },
  );
}

/**
 * Ends `userId`'s membership: they keep the messages up to the newest one now, and nothing more reaches them. Returns
 * the MEMBER_REMOVED event that records it, made by `actorId` (the admin, or the member leaving).
 */
async function endMembership(
  tx: Tx,
  conversationId: number,
  userId: number,
  actorId: number,
): Promise<InboxEventDetails> {
  const visibleUntilMessageId = await newestMessageId(tx, conversationId);
  await tx
    .update(participants)
    .set({ leftAt: new Date(), visibleUntilMessageId })
    .where(viewersSideOf(conversationId, userId));
  return { conversationId, kind: 'MEMBER_REMOVED', actorId, memberIds: [userId] };
}

/**
 * Removes a member from a group (its admin only; not the admin themselves, who leaves instead). Records
 * MEMBER_REMOVED for every member, the removed one included, so their other devices know.
 */
export async function removeGroupMember(
  services: ConversationChangeServices,
  conversation: ConversationModel,
  adminId: number,
  memberId: number,
): Promise<void> {
  requireAdmin(conversation, adminId);
  if (memberId === adminId)
    throw badUserInput('The admin cannot remove themselves: leave the group instead.', 'memberId');
  await changeGroup(services, conversation.id, async ({ tx, conversation: group, members }) => {
    requireAdmin(group, adminId, members);
    if (!members.includes(memberId)) throw notFound(`No member of this group has id ${memberId}.`);
    const details = await endMembership(tx, group.id, memberId, adminId);
    return { result: undefined, events: [{ recipients: members, details }] };
  });
}

/**
 * The viewer leaves a group (FORBIDDEN once they left). When the admin leaves, the longest-standing member left
 * becomes admin; the last member may leave too. Records MEMBER_REMOVED for every member, the viewer included.
 */
export async function leaveGroup(
  services: ConversationChangeServices,
  conversation: ConversationModel,
  viewerId: number,
): Promise<void> {
  if (conversation.kind !== 'GROUP') throw badUserInput('This conversation is not a group.', 'conversationId');
  await changeGroup(services, conversation.id, async ({ tx, conversation: group, members }) => {
    if (!members.includes(viewerId)) throw forbidden('You are no longer a member of this group.');
    const details = await endMembership(tx, group.id, viewerId, viewerId);
    if (group.adminId === viewerId) {
      const [successor] = await tx
        .select({ userId: participants.userId })
        .from(participants)
        .where(and(eq(participants.conversationId, group.id), isNull(participants.leftAt)))
        .orderBy(asc(participants.joinedAt), asc(participants.userId))
        .limit(1);
      // With nobody left, the group keeps its last admin: a group always has one.
      if (successor)
        await tx.update(conversations).set({ adminId: successor.userId }).where(eq(conversations.id, group.id));
    }
    return { result: undefined, events: [{ recipients: members, details }] };
  });
}

/** Renames a group (its admin only); records GROUP_RENAMED for every member, unless the title is the same. */
export async function renameGroup(
  services: ConversationChangeServices,
  conversation: ConversationModel,
  adminId: number,
  title: string,
): Promise<void> {
  requireAdmin(conversation, adminId);
  await changeGroup(services, conversation.id, async ({ tx, conversation: group, members }) => {
    requireAdmin(group, adminId, members);
    if (group.title === title) return { result: undefined, events: [] };
    await tx.update(conversations).set({ title }).where(eq(conversations.id, group.id));
    const details = { conversationId: group.id, kind: 'GROUP_RENAMED', actorId: adminId, title } as const;
    return { result: undefined, events: [{ recipients: members, details }] };
  });
}
