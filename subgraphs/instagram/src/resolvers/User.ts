// Resolvers of Instagram's User type: the account, its lists and what the viewer may see of them.
import { and, desc, eq, lt } from 'drizzle-orm';
import { decodeIdCursor, encodeCursor, forwardConnection, pageSize, tryParseId } from '@igt/common';
import { closeFriends, followRequests, follows, users } from '../db/schema.js';
import type { UserResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import { visibleCount, visibleTo, visibleUser } from '../hiddenFrom.js';
import { userColumns } from '../loaders.js';
import type { UserModel } from '../models.js';

const isSelf = (user: UserModel, { viewerId }: Context) => viewerId === user.id;

/** Private accounts show their lists only to themselves and their followers. */
async function canSeeLists(user: UserModel, context: Context): Promise<boolean> {
  return !user.isPrivate || isSelf(user, context) || context.loaders.followedByViewer.load(user.id);
}

/**
 * One page of a relationship list, newest first, keyed by the relationship's sequence number, leaving out the people
 * hidden from the viewer (filtered in the query, so a page is still full when there is more).
 */
async function relationshipPage(
  context: Context,
  args: { first?: number | null; after?: string | null },
  kind: 'followers' | 'following' | 'closeFriends' | 'followRequests',
  ownerId: number,
) {
  const size = pageSize(args.first);
  const after = decodeIdCursor(kind, args.after);
  const { db, loaders, viewerId } = context;
  const link =
    kind === 'followers'
      ? { table: follows, seq: follows.seq, owner: follows.followeeId, other: follows.followerId }
      : kind === 'following'
        ? { table: follows, seq: follows.seq, owner: follows.followerId, other: follows.followeeId }
        : kind === 'closeFriends'
          ? { table: closeFriends, seq: closeFriends.seq, owner: closeFriends.ownerId, other: closeFriends.friendId }
          : {
              table: followRequests,
              seq: followRequests.seq,
              owner: followRequests.targetId,
              other: followRequests.requesterId,
            };
  const rows = await db
    .select({ seq: link.seq, user: userColumns })
    .from(link.table)
    .innerJoin(users, eq(users.id, link.other))
    .where(
      and(
        eq(link.owner, ownerId),
        visibleTo(db, link.other, viewerId),
        after === null ? undefined : lt(link.seq, after),
      ),
    )
    .orderBy(desc(link.seq))
    .limit(size + 1);
  for (const row of rows) loaders.userById.prime(row.user.id, row.user);
  const connection = forwardConnection(rows, size, (row) => encodeCursor(kind, String(row.seq)), after !== null);
  return { ...connection, edges: connection.edges.map(({ cursor, node }) => ({ cursor, node: node.user })) };
}

/**
 * Resolves User, which Instagram owns (the other subgraphs hold only its key). Someone who blocked the viewer is
 * hidden from them (see hiddenFrom.ts), by reference too. Private accounts hide their lists from non-followers; close
 * friends, follow requests and auto-status are the person's own; status is for close friends.
 */
export const User: UserResolvers = {
  __resolveReference: (reference, { loaders }) => {
    const id = tryParseId(reference.id);
    return id === null ? null : visibleUser(loaders, id);
  },
  createdAt: (user) => user.createdAt.toISOString(),
  followerCount: (user, _args, { loaders }) =>
    visibleCount(user.followerCount, loaders.hiddenFollowerCount.load(user.id)),
  followingCount: (user, _args, { loaders }) =>
    visibleCount(user.followingCount, loaders.hiddenFollowingCount.load(user.id)),
  followers: async (user, args, context) =>
    (await canSeeLists(user, context)) ? relationshipPage(context, args, 'followers', user.id) : null,
  following: async (user, args, context) =>
    (await canSeeLists(user, context)) ? relationshipPage(context, args, 'following', user.id) : null,
  closeFriends: (user, args, context) =>
    isSelf(user, context) ? relationshipPage(context, args, 'closeFriends', user.id) : null,
  followRequests: (user, args, context) =>
    isSelf(user, context) ? relationshipPage(context, args, 'followRequests', user.id) : null,
  followsViewer: (user, _args, { loaders }) => loaders.followsViewer.load(user.id),
  followedByViewer: (user, _args, { loaders }) => loaders.followedByViewer.load(user.id),
  followRequestedByViewer: (user, _args, { loaders }) => loaders.followRequestedByViewer.load(user.id),
  isCloseFriend: (user, _args, { loaders }) => loaders.isViewersCloseFriend.load(user.id),
  blockedByViewer: (user, _args, { loaders }) => loaders.blockedByViewer.load(user.id),
  autoStatusEnabled: (user, _args, context) => (isSelf(user, context) ? user.autoStatusEnabled : null),
  async status(user, _args, context) {
    // Status is for the person and the people on their close friends list only.
    const visible = isSelf(user, context) || (await context.loaders.viewerIsCloseFriendOf.load(user.id));
    return visible ? context.loaders.statusByUserId.load(user.id) : null;
  },
};
