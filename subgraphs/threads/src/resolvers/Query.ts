// Threads' root queries.
import { and, desc, eq, inArray, lt, or } from 'drizzle-orm';
import { tryParseId } from '@igt/common';
import { profileFollows, profiles, threads } from '../db/schema.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { visibleThread, visibleTo } from '../hiddenFrom.js';
import { pageArgs, threadConnection } from '../threadPages.js';

/**
 * Threads' root queries: a profile, a thread, the viewer's feed. For a signed-in viewer each first catches up with
 * Instagram's blocks, so someone who blocked them disappears at once.
 */
export const Query: QueryResolvers = {
  async profile(_parent, { username }, { viewerId, db, loaders, catchUpBlocks }) {
    if (viewerId !== null) await catchUpBlocks();
    const [row] = await db
      .select()
      .from(profiles)
      // Someone who blocked the viewer on Instagram is invisible to them on Threads too.
      .where(and(eq(profiles.username, username.trim().toLowerCase()), visibleTo(db, profiles.id, viewerId)))
      .limit(1);
    if (!row) return null;
    loaders.profileById.prime(row.id, row);
    return row;
  },

  async thread(_parent, { id }, { viewer, loaders, catchUpBlocks }) {
    const threadId = tryParseId(id);
    if (threadId === null) return null;
    // Before the thread is read: a block the projection has not applied yet also changes its like count.
    if (viewer) await catchUpBlocks();
    return visibleThread(loaders, threadId);
  },

  async feed(_parent, args, { viewerId, db, loaders, catchUpBlocks }) {
    const { size, after } = pageArgs('feed', args);
    if (viewerId === null) return threadConnection(loaders, 'feed', [], size, after);
    await catchUpBlocks();
    const followees = db
      .select({ id: profileFollows.followeeId })
      .from(profileFollows)
      .where(eq(profileFollows.followerId, viewerId));
    const rows = await db
      .select()
      .from(threads)
      .where(
        and(
          eq(threads.isReply, false),
          or(eq(threads.authorId, viewerId), inArray(threads.authorId, followees)),
          visibleTo(db, threads.authorId, viewerId),
          after === null ? undefined : lt(threads.id, after),
        ),
      )
      .orderBy(desc(threads.id))
      .limit(size + 1);
    return threadConnection(loaders, 'feed', rows, size, after);
  },
};
