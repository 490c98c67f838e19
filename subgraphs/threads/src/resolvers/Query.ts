// Threads' root queries.
import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { preparedPerDatabase, tryParseId, type Db } from '@igt/common';
import type * as schema from '../db/schema.js';
import { profileFollows, profiles, threads } from '../db/schema.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { visibleThread, visibleTo } from '../hiddenFrom.js';
import { pageArgs, threadConnection } from '../threadPages.js';

/**
 * The statements of the profile and feed queries, which most reads start with, prepared once per database. Values:
 * `username`, `viewerId` (signed-in variants), `after` (later pages of the feed) and `limit`.
 */
const statements = preparedPerDatabase((db: Db<typeof schema>) => {
  const viewerId = sql.placeholder('viewerId');
  // Someone who blocked the viewer on Instagram is invisible to them on Threads too.
  const profileByUsername = (viewer: typeof viewerId | null, name: string) =>
    db
      .select()
      .from(profiles)
      .where(and(eq(profiles.username, sql.placeholder('username')), visibleTo(db, profiles.id, viewer)))
      .limit(1)
      .prepare(name);
  const followees = db
    .select({ id: profileFollows.followeeId })
    .from(profileFollows)
    .where(eq(profileFollows.followerId, viewerId));
  const feedPage = (after: boolean, name: string) =>
    db
      .select()
      .from(threads)
      .where(
        and(
          eq(threads.isReply, false),
          or(eq(threads.authorId, viewerId), inArray(threads.authorId, followees)),
          visibleTo(db, threads.authorId, viewerId),
          after ? lt(threads.id, sql.placeholder('after')) : undefined,
        ),
      )
      .orderBy(desc(threads.id))
      .limit(sql.placeholder('limit'))
      .prepare(name);
  return {
    profileByUsername: profileByUsername(null, 'threads_profile_by_username'),
    visibleProfileByUsername: profileByUsername(viewerId, 'threads_visible_profile_by_username'),
    feedFirstPage: feedPage(false, 'threads_feed_first_page'),
    feedPageAfter: feedPage(true, 'threads_feed_page_after'),
  };
});

/**
 * Threads' root queries: a profile, a thread, the viewer's feed. For a signed-in viewer each first catches up with
 * Instagram's blocks, so someone who blocked them disappears at once.
 */
export const Query: QueryResolvers = {
  async profile(_parent, { username }, { viewerId, db, loaders, catchUpBlocks }) {
    const { profileByUsername, visibleProfileByUsername } = statements(db);
    const values = { username: username.trim().toLowerCase() };
    if (viewerId !== null) await catchUpBlocks();
    const [row] = await (viewerId === null
      ? profileByUsername.execute(values)
      : visibleProfileByUsername.execute({ ...values, viewerId }));
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
    const values = { viewerId, limit: size + 1 };
    const rows = await (after === null
      ? statements(db).feedFirstPage.execute(values)
      : statements(db).feedPageAfter.execute({ ...values, after }));
    return threadConnection(loaders, 'feed', rows, size, after);
  },
};
