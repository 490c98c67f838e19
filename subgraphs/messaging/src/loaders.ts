// The Messaging subgraph's DataLoaders, made per request (and per subscription event).
import DataLoader from 'dataloader';
import { and, count, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import {
  blockBetweenCondition,
  inPlaceholderList,
  membershipLoader,
  preparedPerDatabase,
  rowLoader,
  type Db,
  type Logger,
} from '@igt/common';
import * as schema from './db/schema.js';
import {
  selectViewersConversations,
  toConversationModel,
  viewersSideOf,
  withinMembership,
} from './conversationSides.js';
import { catchUpForReads, visibleTo } from './hiddenFrom.js';
import type { ConversationModel, MessageModel, ReactionModel } from './models.js';
import type { RelationshipProjection } from './relationshipProjection.js';

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

/** The blocks between the viewer and one other person, either way. */
export interface BlocksWithViewer {
  /** The viewer has blocked them. */
  viewerBlocked: boolean;
  /** They have blocked the viewer. */
  blockedViewer: boolean;
}

const NO_BLOCKS: BlocksWithViewer = { viewerBlocked: false, blockedViewer: false };

/** What loaders need besides the database. */
export interface LoaderServices {
  relationships: RelationshipProjection;
  /** Where a read that goes ahead without the latest blocks says so. */
  logger: Logger;
}

/**
 * What the Message button asks of each person (every profile shows one, and every send asks the same), prepared once
 * per database. Values: `viewerId`, and `ids`, the people.
 */
const messageButtonStatements = preparedPerDatabase((db: Db<typeof schema>) => {
  const viewerId = sql.placeholder('viewerId');
  const othersInclude = (column: AnyPgColumn) => inPlaceholderList(column, 'ids');
  return {
    blocksWithViewer: db
      .select({ blockerId: blocks.blockerId, blockedId: blocks.blockedId })
      .from(blocks)
      .where(blockBetweenCondition(blocks, viewerId, othersInclude))
      .prepare('messaging_blocks_with_viewer'),
    conversationsWith: selectViewersConversations(
      db,
      viewerId,
      or(
        and(eq(conversations.userLowId, viewerId), othersInclude(conversations.userHighId)),
        and(eq(conversations.userHighId, viewerId), othersInclude(conversations.userLowId)),
      ),
    ).prepare('messaging_conversations_with'),
  };
});

/**
 * Creates the DataLoaders of one request (or one subscription event); never shared between requests. Everything a
 * viewer reads goes through loaders scoped to that viewer: a conversation or message they are not part of loads as
 * null, and what someone who blocked the viewer sent, reacted or saw is left out (hiddenFrom.ts), so no resolver can
 * leak either by forgetting a check.
 */
export function createLoaders(
  db: Db<typeof schema>,
  viewerId: number | null,
  { relationships, logger }: LoaderServices,
) {
  // Nobody can block an anonymous viewer, so their reads never wait for the projection.
  const catchUpBlocks = viewerId === null ? () => Promise.resolve() : catchUpForReads(relationships, logger);
  const conversationById = rowLoader<number, ConversationModel>(
    async (ids) => {
      if (viewerId === null) return [];
      const rows = await selectViewersConversations(db, viewerId, inArray(participants.conversationId, ids));
      return rows.map(toConversationModel);
    },
    (row) => row.id,
  );

  const messageById = rowLoader<number, MessageModel>(
    async (ids) => {
      if (viewerId === null) return [];
      await catchUpBlocks();
      const rows = await db
        .select({ message: messages })
        .from(messages)
        .innerJoin(participants, viewersSideOf(messages.conversationId, viewerId))
        .where(
          and(inArray(messages.id, ids), withinMembership(messages.id), visibleTo(db, messages.senderId, viewerId)),
        );
      return rows.map(({ message }) => message);
    },
    (row) => row.id,
  );

  return {
    /** Brings the blocks projection up to date for this request's reads, once; what every loader below awaits. */
    catchUpBlocks,
    /** The viewer's side of conversations by id; null when the viewer is not in it. */
    conversationById,
    /**
     * Messages by id, for the viewer; null when not in one of the viewer's conversations or sent by someone who has
     * blocked the viewer. A conversation's last message starts from the id on the viewer's side row
     * (`lastVisibleMessage`), so it has no loader of its own.
     */
    messageById,

    /**
     * Pages of history for many conversations at once: one LATERAL query per distinct (size, before), each reading
     * only the rows it returns from the (conversation_id, id) index. It starts from the viewer's side of each
     * conversation, so a conversation they are not in has no page, and a page keeps to their membership window;
     * messages from someone who has blocked the viewer are left out.
     */
    messagePage: new DataLoader<MessagePageKey, MessageModel[], string>(
      async (keys) => {
        if (viewerId === null) return keys.map(() => []);
        await catchUpBlocks();
        const pages = new Map<MessagePageKey, MessageModel[]>();
        for (const group of groupBy(keys, (key) => `${key.size}:${key.before ?? ''}`).values()) {
          const { size, before } = group[0]!;
          const page = db
            .select()
            .from(messages)
            .where(
              and(
                eq(messages.conversationId, participants.conversationId),
                withinMembership(messages.id),
                visibleTo(db, messages.senderId, viewerId),
                before === null ? undefined : lt(messages.id, before),
              ),
            )
            .orderBy(desc(messages.id))
            .limit(size + 1)
            .as('page');
          const rows = await db
            .select()
            .from(participants)
            .crossJoinLateral(page)
            .where(
              and(
                eq(participants.userId, viewerId),
                inArray(
                  participants.conversationId,
                  group.map((key) => key.conversationId),
                ),
              ),
            );
          const byConversation = groupBy(
            rows.map((row) => row.page),
            (message) => message.conversationId,
          );
          for (const key of group)
            pages.set(
              key,
              (byConversation.get(key.conversationId) ?? []).sort((a, b) => b.id - a.id),
            );
        }
        return keys.map((key) => pages.get(key) ?? []);
      },
      { cacheKeyFn: (key) => `${key.conversationId}:${key.size}:${key.before ?? ''}` },
    ),

    /**
     * Messages from other people the viewer has not seen (unsent ones, hidden ones and those outside the viewer's
     * membership window do not count), by conversation.
     */
    unreadCountByConversationId: new DataLoader<number, number>(async (ids) => {
      if (viewerId === null) return ids.map(() => 0);
      await catchUpBlocks();
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
            withinMembership(messages.id),
            visibleTo(db, messages.senderId, viewerId),
          ),
        )
        .where(and(eq(participants.userId, viewerId), inArray(participants.conversationId, [...ids])))
        .groupBy(participants.conversationId);
      const byId = new Map(rows.map((row) => [row.conversationId, row.unread]));
      return ids.map((id) => byId.get(id) ?? 0);
    }),

    /**
     * Reactions by message id, oldest first, leaving out those of anyone who has blocked the viewer and, for someone
     * who left a group, those made after they left.
     */
    reactionsByMessageId: new DataLoader<number, ReactionModel[]>(async (ids) => {
      if (viewerId === null) return ids.map(() => []);
      await catchUpBlocks();
      const rows = await db
        .select({ reaction: reactions })
        .from(reactions)
        .innerJoin(messages, eq(messages.id, reactions.messageId))
        .innerJoin(participants, viewersSideOf(messages.conversationId, viewerId))
        .where(
          and(
            inArray(reactions.messageId, [...ids]),
            visibleTo(db, reactions.userId, viewerId),
            // Someone who left a group keeps the reactions made while they were in it.
            or(isNull(participants.leftAt), lte(reactions.reactedAt, participants.leftAt)),
          ),
        )
        .orderBy(reactions.reactedAt, reactions.userId)
        .then((found) => found.map((row) => row.reaction));
      const byMessage = groupBy(rows, (row) => row.messageId);
      return ids.map((id) => byMessage.get(id) ?? []);
    }),

    /**
     * Who (other than the sender) has seen each message: participants whose last seen id reaches it and whose
     * membership window holds it, leaving out anyone who has blocked the viewer.
     */
    seenByMessageId: new DataLoader<number, number[]>(async (ids) => {
      await catchUpBlocks();
      const rows = await db
        .select({ messageId: messages.id, userId: participants.userId })
        .from(messages)
        .innerJoin(
          participants,
          and(
            eq(participants.conversationId, messages.conversationId),
            ne(participants.userId, messages.senderId),
            gte(participants.lastSeenMessageId, messages.id),
            // Only someone who could see it: a newcomer's mark does not cover what came before they joined.
            withinMembership(messages.id),
          ),
        )
        .where(and(inArray(messages.id, [...ids]), visibleTo(db, participants.userId, viewerId)));
      const byMessage = groupBy(rows, (row) => row.messageId);
      return ids.map((id) => (byMessage.get(id) ?? []).map((row) => row.userId));
    }),

    /**
     * The members of each conversation (by id) as the viewer sees them, by ascending user id: the current ones while
     * the viewer is a member, those of the moment they left otherwise. Callers have already checked access.
     */
    membersByConversationId: new DataLoader<number, number[]>(async (ids) => {
      if (viewerId === null) return ids.map(() => []);
      const viewersSide = alias(participants, 'viewers_side');
      const rows = await db
        .select({ conversationId: participants.conversationId, userId: participants.userId })
        .from(participants)
        .innerJoin(
          viewersSide,
          and(eq(viewersSide.conversationId, participants.conversationId), eq(viewersSide.userId, viewerId)),
        )
        .where(
          and(
            inArray(participants.conversationId, [...ids]),
            or(
              and(isNull(viewersSide.leftAt), isNull(participants.leftAt)),
              // Someone who left sees the group as it was when they left: who else was in it then.
              and(
                isNotNull(viewersSide.leftAt),
                ne(participants.userId, viewerId),
                lte(participants.joinedAt, viewersSide.leftAt),
                or(isNull(participants.leftAt), gte(participants.leftAt, viewersSide.leftAt)),
              ),
            ),
          ),
        )
        .orderBy(participants.userId);
      const byConversation = groupBy(rows, (row) => row.conversationId);
      return ids.map((id) => (byConversation.get(id) ?? []).map((row) => row.userId));
    }),

    /** The person (by user id) has blocked the viewer, so the inbox hides them from the viewer. */
    hasBlockedViewer: membershipLoader(viewerId, async (viewer, ids) => {
      await catchUpBlocks();
      const rows = await db
        .select({ id: blocks.blockerId })
        .from(blocks)
        .where(and(eq(blocks.blockedId, viewer), inArray(blocks.blockerId, ids)));
      return rows.map((row) => row.id);
    }),

    /**
     * The blocks between the viewer and each person (by user id), either way. Reads the projection as it stands:
     * canMessage.ts, its reader, catches it up strictly first (a read that must not go ahead on stale blocks).
     */
    blocksWithViewer: new DataLoader<number, BlocksWithViewer>(async (ids) => {
      if (viewerId === null) return ids.map(() => NO_BLOCKS);
      const byPerson = new Map<number, BlocksWithViewer>();
      const rows = await messageButtonStatements(db).blocksWithViewer.execute({ viewerId, ids });
      for (const { blockerId, blockedId } of rows) {
        const viewerBlocked = blockerId === viewerId;
        const person = viewerBlocked ? blockedId : blockerId;
        const known = byPerson.get(person) ?? NO_BLOCKS;
        byPerson.set(person, viewerBlocked ? { ...known, viewerBlocked } : { ...known, blockedViewer: true });
      }
      return ids.map((id) => byPerson.get(id) ?? NO_BLOCKS);
    }),

    /** The viewer's conversation with each person (by user id), if they have one; also primes `conversationById`. */
    conversationWith: new DataLoader<number, ConversationModel | null>(async (ids) => {
      if (viewerId === null) return ids.map(() => null);
      const rows = await messageButtonStatements(db).conversationsWith.execute({ viewerId, ids });
      const byPerson = new Map<number, ConversationModel>();
      for (const model of rows.map(toConversationModel)) {
        conversationById.prime(model.id, model);
        // Only one-to-one conversations have a pair, so only they match.
        byPerson.set(model.userLowId === viewerId ? model.userHighId! : model.userLowId!, model);
      }
      return ids.map((id) => byPerson.get(id) ?? null);
    }),
  };
}

/** The DataLoaders of one request. */
export type Loaders = ReturnType<typeof createLoaders>;
