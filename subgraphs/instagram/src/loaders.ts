// The Instagram subgraph's DataLoaders, made per request.
import { and, count, eq, getTableColumns, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import {
  inPlaceholderList,
  membershipLoader as membership,
  preparedPerDatabase,
  rowLoader,
  type Db,
  type ViewerIdValue,
} from '@igt/common';
import * as schema from './db/schema.js';
import { hiddenFrom, visibleTo } from './hiddenFrom.js';
import type { StatusModel, UserModel } from './models.js';

const { users, follows, followRequests, blocks, closeFriends, statuses } = schema;

/** A user's columns as reads select them: all but the password hash, which only signing in reads. */
const { passwordHash: _passwordHash, ...userColumns } = getTableColumns(users);
export { userColumns };

/**
 * How many of each user's follows (by `owner`, the other side being `other`) involve someone hidden from the viewer,
 * for a batch of users in one statement. Zero, without a query, for anonymous viewers.
 */
function hiddenFollowCount(db: Db<typeof schema>, viewerId: number | null, owner: AnyPgColumn, other: AnyPgColumn) {
  const counts = rowLoader<number, { id: number; hidden: number }>(
    async (ids) => {
      if (viewerId === null) return [];
      const rows = await db
        .select({ id: owner, hidden: count() })
        .from(follows)
        .where(and(inArray(owner, ids), hiddenFrom(db, other, viewerId)))
        .groupBy(owner);
      return rows.map((row) => ({ id: Number(row.id), hidden: row.hidden }));
    },
    (row) => row.id,
  );
  return {
    load: async (id: number): Promise<number> => (await counts.load(id))?.hidden ?? 0,
    /** Takes a count read with the user (see visibleUserById), so it costs no statement of its own. */
    prime: (id: number, hidden: number) => counts.prime(id, { id, hidden }),
  };
}

/**
 * How many of the people `user` follows (`side` 'following') or is followed by ('followers') have blocked the viewer,
 * as a column of a users query. Read from the viewer's blockers (few) through the follows key, so it costs next to
 * nothing when nobody has blocked the viewer.
 */
function hiddenFollowColumn(viewerId: ViewerIdValue, side: 'followers' | 'following') {
  const [owner, other] =
    side === 'followers' ? [follows.followeeId, follows.followerId] : [follows.followerId, follows.followeeId];
  return sql<number>`(select count(*)::int from ${blocks} join ${follows} on ${other} = ${blocks.blockerId} and ${owner} = ${users.id} where ${blocks.blockedId} = ${viewerId})`;
}

/**
 * The users a viewer may see, by id (placeholders `ids`, and `viewerId` when signed in): every reference from another
 * subgraph asks it, so it is prepared once per database.
 */
const visibleUsers = preparedPerDatabase((db: Db<typeof schema>) => {
  const viewerId = sql.placeholder('viewerId');
  return {
    anonymous: db.select(userColumns).from(users).where(inPlaceholderList(users.id, 'ids')).prepare('instagram_users'),
    // The counts beside the user's lists come in the same statement: a profile or a feed shows them with the user.
    signedIn: db
      .select({
        ...userColumns,
        hiddenFollowers: hiddenFollowColumn(viewerId, 'followers'),
        hiddenFollowing: hiddenFollowColumn(viewerId, 'following'),
      })
      .from(users)
      .where(and(inPlaceholderList(users.id, 'ids'), visibleTo(db, users.id, viewerId)))
      .prepare('instagram_visible_users'),
  };
});

/** Creates the DataLoaders of one request (or one subscription event); never shared between requests. */
export function createLoaders(db: Db<typeof schema>, viewerId: number | null) {
  const hiddenFollowerCount = hiddenFollowCount(db, viewerId, follows.followeeId, follows.followerId);
  const hiddenFollowingCount = hiddenFollowCount(db, viewerId, follows.followerId, follows.followeeId);
  return {
    userById: rowLoader<number, UserModel>(
      (ids) => db.select(userColumns).from(users).where(inArray(users.id, ids)),
      (row) => row.id,
    ),
    /**
     * A user the viewer may see (hiddenFrom.ts): null when there is none or they have blocked the viewer. One statement
     * for both questions, which every reference from another subgraph asks.
     */
    visibleUserById: rowLoader<number, UserModel>(
      async (ids) => {
        const statements = visibleUsers(db);
        if (viewerId === null) return statements.anonymous.execute({ ids });
        const rows = await statements.signedIn.execute({ ids, viewerId });
        return rows.map(({ hiddenFollowers, hiddenFollowing, ...user }) => {
          hiddenFollowerCount.prime(user.id, hiddenFollowers);
          hiddenFollowingCount.prime(user.id, hiddenFollowing);
          return user;
        });
      },
      (row) => row.id,
    ),
    /** Current (unexpired) status by user id. */
    statusByUserId: rowLoader<number, StatusModel>(
      (ids) =>
        db
          .select()
          .from(statuses)
          .where(
            and(inArray(statuses.userId, ids), or(isNull(statuses.expiresAt), gt(statuses.expiresAt, new Date()))),
          ),
      (row) => row.userId,
    ),
    /** How many of the user's followers have blocked the viewer: counted in `followerCount`, hidden from the viewer. */
    hiddenFollowerCount,
    /** How many of the people the user follows have blocked the viewer: counted in `followingCount`, hidden from them. */
    hiddenFollowingCount,
    /** The viewer follows the user. */
    followedByViewer: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: follows.followeeId })
          .from(follows)
          .where(and(eq(follows.followerId, viewer), inArray(follows.followeeId, ids)))
      ).map((row) => row.id),
    ),
    /** The viewer has asked to follow the (private) user and waits for an answer. */
    followRequestedByViewer: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: followRequests.targetId })
          .from(followRequests)
          .where(and(eq(followRequests.requesterId, viewer), inArray(followRequests.targetId, ids)))
      ).map((row) => row.id),
    ),
    /** The user follows the viewer. */
    followsViewer: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: follows.followerId })
          .from(follows)
          .where(and(eq(follows.followeeId, viewer), inArray(follows.followerId, ids)))
      ).map((row) => row.id),
    ),
    /** The viewer has put the user on their close friends list. */
    isViewersCloseFriend: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: closeFriends.friendId })
          .from(closeFriends)
          .where(and(eq(closeFriends.ownerId, viewer), inArray(closeFriends.friendId, ids)))
      ).map((row) => row.id),
    ),
    /** The user has put the viewer on their close friends list (so the viewer may see their status). */
    viewerIsCloseFriendOf: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: closeFriends.ownerId })
          .from(closeFriends)
          .where(and(eq(closeFriends.friendId, viewer), inArray(closeFriends.ownerId, ids)))
      ).map((row) => row.id),
    ),
    /** The viewer has blocked the user. */
    blockedByViewer: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: blocks.blockedId })
          .from(blocks)
          .where(and(eq(blocks.blockerId, viewer), inArray(blocks.blockedId, ids)))
      ).map((row) => row.id),
    ),
    /** The user has blocked the viewer. */
    hasBlockedViewer: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: blocks.blockerId })
          .from(blocks)
          .where(and(eq(blocks.blockedId, viewer), inArray(blocks.blockerId, ids)))
      ).map((row) => row.id),
    ),
  };
}

/** The DataLoaders of one request. */
export type Loaders = ReturnType<typeof createLoaders>;
