import DataLoader from 'dataloader';
import { and, count, desc, eq, gt, gte, inArray, lt, ne, or, sql } from 'drizzle-orm';
import { rowLoader, tryParseId, type Db } from '@igt/common';
import * as schema from './db/schema.js';
import type { ConversationModel, MessageActionModel, MessageModel, ReactionModel } from './models.js';
import type { KnownUsers } from './knownUsers.js';
import type { RelationshipProjection } from './relationships.js';

const { blocks, conversations, messages, participants, reactions } = schema;

/** One page of a conversation's history: up to `size + 1` messages older than `before`, newest first. */
export interface MessagePageKey {
  conversationId: number;
  size: number;
  before: number | null;
}

/** Groups `items` by the key `by` gives each, keeping their order within a group. */
function groupBy<T, G>(items: readonly T[], by: (item: T) => G): Map<G, T[]> {
  const groups = new Map<G, T[]>();
  for (const item of items) {
    const group = groups.get(by(item));
    if (group) group.push(item);
    else groups.set(by(item), [item]);
  }
  return groups;
}

/** What loaders need besides the database. */
export interface LoaderServices {
  relationships: RelationshipProjection;
  people: KnownUsers;
}

/**
 * Creates the DataLoaders of one request (or one subscription event); never shared between requests. Everything a
 * viewer reads goes through loaders scoped to that viewer: a conversation or message they are not part of loads as
 * null, so no resolver can leak one by forgetting a check.
 */
export function createLoaders(db: Db<typeof schema>, viewerId: number | null, { relationships, people }: LoaderServices) {
  const conversationById = rowLoader<number, ConversationModel>(async (ids) => {
    if (viewerId === null) return [];
    const rows = await db
      .select({ conversation: conversations, side: participants })
      .from(participants)
      .innerJoin(conversations, eq(conversations.id, participants.conversationId))
      .where(and(eq(participants.userId, viewerId), inArray(participants.conversationId, ids)));
    return rows.map(({ conversation, side }) => ({ ...conversation, side }));
  }, (row) => row.id);

  const messageById = rowLoader<number, MessageModel>(async (ids) => {
    if (viewerId === null) return [];
    const rows = await db
      .select({ message: messages })
      .from(messages)
      .innerJoin(participants, and(eq(participants.conversationId, messages.conversationId), eq(participants.userId, viewerId)))
      .where(inArray(messages.id, ids));
    return rows.map(({ message }) => message);
  }, (row) => row.id);

  return {
    /** The viewer's side of conversations by id; null when the viewer is not in it. */
    conversationById,
    /**
     * Messages by id, for the viewer; null when not in one of the viewer's conversations. A conversation's last
     * message is `messageById.load(side.lastMessageId)`: the id is on the viewer's side row, so no loader of its own.
     */
    messageById,

    /**
     * Pages of history for many conversations at once: one LATERAL query per distinct (size, before), each reading
     * only the rows it returns from the (conversation_id, id) index. Callers have already checked access.
     */
    messagePage: new DataLoader<MessagePageKey, MessageModel[], string>(
      async (keys) => {
        const pages = new Map<MessagePageKey, MessageModel[]>();
        for (const group of groupBy(keys, (key) => `${key.size}:${key.before ?? ''}`).values()) {
          const { size, before } = group[0]!;
          const page = db
            .select()
            .from(messages)
            .where(and(eq(messages.conversationId, conversations.id), before === null ? undefined : lt(messages.id, before)))
            .orderBy(desc(messages.id))
            .limit(size + 1)
            .as('page');
          const rows = await db
            .select()
            .from(conversations)
            .crossJoinLateral(page)
            .where(inArray(conversations.id, group.map((key) => key.conversationId)));
          const byConversation = groupBy(
            rows.map((row) => row.page),
            (message) => message.conversationId,
          );
          for (const key of group) pages.set(key, (byConversation.get(key.conversationId) ?? []).sort((a, b) => b.id - a.id));
        }
        return keys.map((key) => pages.get(key) ?? []);
      },
      { cacheKeyFn: (key) => `${key.conversationId}:${key.size}:${key.before ?? ''}` },
    ),

    /** Messages from the other person the viewer has not seen (unsent ones no longer count), by conversation. */
    unreadCountByConversationId: new DataLoader<number, number>(async (ids) => {
      if (viewerId === null) return ids.map(() => 0);
      const rows = await db
        .select({ conversationId: participants.conversationId, unread: count(messages.id) })
        .from(participants)
        .innerJoin(
          messages,
          and(
            eq(messages.conversationId, participants.conversationId),
            gt(messages.id, sql`coalesce(${participants.lastSeenMessageId}, 0)`),
            ne(messages.senderId, participants.userId),
            eq(messages.unsent, false),
          ),
        )
        .where(and(eq(participants.userId, viewerId), inArray(participants.conversationId, [...ids])))
        .groupBy(participants.conversationId);
      const byId = new Map(rows.map((row) => [row.conversationId, row.unread]));
      return ids.map((id) => byId.get(id) ?? 0);
    }),

    /** Reactions by message id, oldest first. */
    reactionsByMessageId: new DataLoader<number, ReactionModel[]>(async (ids) => {
      const rows = await db
        .select()
        .from(reactions)
        .where(inArray(reactions.messageId, [...ids]))
        .orderBy(reactions.reactedAt, reactions.userId);
      const byMessage = groupBy(rows, (row) => row.messageId);
      return ids.map((id) => byMessage.get(id) ?? []);
    }),

    /** Who (other than the sender) has seen each message: participants whose last seen id reaches it. */
    seenByMessageId: new DataLoader<number, number[]>(async (ids) => {
      const rows = await db
        .select({ messageId: messages.id, userId: participants.userId })
        .from(messages)
        .innerJoin(
          participants,
          and(
            eq(participants.conversationId, messages.conversationId),
            ne(participants.userId, messages.senderId),
            gte(participants.lastSeenMessageId, messages.id),
          ),
        )
        .where(inArray(messages.id, [...ids]));
      const byMessage = groupBy(rows, (row) => row.messageId);
      return ids.map((id) => (byMessage.get(id) ?? []).map((row) => row.userId));
    }),

    /**
     * Messaging's part of the Message button, by recipient id: catches the relationships projection up first, so a
     * block is reflected at once. Null for an id that cannot name anyone.
     */
    messageActionByRecipientId: new DataLoader<string, MessageActionModel | null>(async (recipientIds) => {
      const parsed = recipientIds.map((id) => tryParseId(id));
      // Only the gateway's query plans send representations (here: Threads resolved these profiles), so each
      // recipient is a real account; remembering it lets the button's own mutation reach them.
      await people.remember(parsed.filter((id): id is number => id !== null));
      if (viewerId === null) {
        return parsed.map((id) =>
          id === null ? null : { recipientId: String(id), enabled: false, disabledReason: 'SIGN_IN_REQUIRED' as const, conversation: null },
        );
      }
      const others = [...new Set(parsed.filter((id): id is number => id !== null && id !== viewerId))];
      const blockedIds = new Set<number>();
      const conversationWith = new Map<number, ConversationModel>();
      if (others.length) {
        await relationships.catchUp();
        const [blockRows, conversationRows] = await Promise.all([
          db
            .select()
            .from(blocks)
            .where(
              or(
                and(eq(blocks.blockerId, viewerId), inArray(blocks.blockedId, others)),
                and(eq(blocks.blockedId, viewerId), inArray(blocks.blockerId, others)),
              ),
            ),
          db
            .select({ conversation: conversations, side: participants })
            .from(participants)
            .innerJoin(conversations, eq(conversations.id, participants.conversationId))
            .where(
              and(
                eq(participants.userId, viewerId),
                or(
                  and(eq(conversations.userLowId, viewerId), inArray(conversations.userHighId, others)),
                  and(eq(conversations.userHighId, viewerId), inArray(conversations.userLowId, others)),
                ),
              ),
            ),
        ]);
        for (const row of blockRows) blockedIds.add(row.blockerId === viewerId ? row.blockedId : row.blockerId);
        for (const { conversation, side } of conversationRows) {
          const model = { ...conversation, side };
          conversationById.prime(model.id, model);
          conversationWith.set(conversation.userLowId === viewerId ? conversation.userHighId : conversation.userLowId, model);
        }
      }
      return parsed.map((id): MessageActionModel | null => {
        if (id === null) return null;
        const conversation = conversationWith.get(id) ?? null;
        if (id === viewerId) return { recipientId: String(id), enabled: false, disabledReason: 'SELF', conversation };
        if (blockedIds.has(id)) return { recipientId: String(id), enabled: false, disabledReason: 'BLOCKED', conversation };
        return { recipientId: String(id), enabled: true, disabledReason: null, conversation };
      });
    }),
  };
}

/** The DataLoaders of one request. */
export type Loaders = ReturnType<typeof createLoaders>;
