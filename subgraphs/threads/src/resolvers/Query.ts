// Threads' root queries.
import { and, desc, eq, getTableColumns, inArray, lt, or, sql } from 'drizzle-orm';
import { preparedPerDatabase, tryParseId, type Db } from '@igt/common';
import type * as schema from '../db/schema.js';
import { profileFollows, profiles, threads } from '../db/schema.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import type { ProfileModel } from '../models.js';
import { visibleThread, visibleTo } from '../hiddenFrom.js';
import { anyoneBlockedViewerColumn } from '../loaders.js';
import { pageArgs, threadConnection } from '../threadPages.js';

/**
 * The statements of the profile and feed queries, which most reads start with, prepared once per database. Values:
 * `username`, `viewerId` (signed-in variants), `after` (later pages of the feed) and `limit`. For a signed-in viewer
 * they also read whether anyone has blocked the viewer, which the request's counters would otherwise ask apart.
 */
const statements = preparedPerDatabase((db: Db<typeof schema>) => {
  const viewerId = sql.placeholder('viewerId');
  const byUsername = eq(profiles.username, sql.placeholder('username'));
  const followees = db
    .select({ id: profileFollows.followeeId })
    .from(profileFollows)
    .where(eq(profileFollows.followerId, viewerId));
  const feedPage = (after: boolean, name: string) =>
    db
      .select({ ...getTableColumns(threads), anyoneBlockedViewer: anyoneBlockedViewerColumn(viewerId) })
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
    profileByUsername: db.select().from(profiles).where(byUsername).limit(1).prepare('threads_profile_by_username'),
    // Someone who blocked the viewer on Instagram is invisible to them on Threads too.
    visibleProfileByUsername: db
      .select({ ...getTableColumns(profiles), anyoneBlockedViewer: anyoneBlockedViewerColumn(viewerId) })
      .from(profiles)
      .where(and(byUsername, visibleTo(db, profiles.id, viewerId)))
      .limit(1)
      .prepare('threads_visible_profile_by_username'),
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
    let row: ProfileModel | undefined;
    if (viewerId === null) [row] = await profileByUsername.execute(values);
    else {
      await catchUpBlocks();
      const [found] = await visibleProfileByUsername.execute({ ...values, viewerId });
      if (found) {
        const { anyoneBlockedViewer, ...profile } = found;
        loaders.primeAnyoneBlockedViewer(anyoneBlockedViewer);
        row = profile;
      }
    }
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
    if (rows[0]) loaders.primeAnyoneBlockedViewer(rows[0].anyoneBlockedViewer);
    const page = rows.map(({ anyoneBlockedViewer: _anyoneBlockedViewer, ...thread }) => thread);
    return threadConnection(loaders, 'feed', page, size, after);
  },
};
