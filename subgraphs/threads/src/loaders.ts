// The Threads subgraph's DataLoaders, made per request.
import DataLoader from 'dataloader';
import { and, asc, count, desc, eq, getTableColumns, gt, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
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
import type { ProfileModel, ThreadModel } from './models.js';

const { blocks, profiles, threads, likes, profileFollows } = schema;

/** Which page of a per-owner thread list to load: `size + 1` rows past `after` (the extra one tells "more"). */
export interface ThreadPageKey {
  ownerId: number;
  size: number;
  after: number | null;
}

/** How one kind of per-owner list is read: which column names the owner, and in which direction it runs. */
interface ThreadListSpec {
  /** Names its prepared statements. */
  name: string;
  owner: AnyPgColumn;
  ownerOf: (row: ThreadModel) => number | null;
  /** Newest first (profile pages) or oldest first (replies). */
  newestFirst: boolean;
  /** Extra conditions for a viewer (null: anonymous), e.g. "top-level only". */
  where(viewerId: ViewerIdValue | null): SQL | undefined;
  /** Runs before each batch: brings what `where` depends on up to date. */
  before?: (() => Promise<void>) | undefined;
}

/**
 * The statement reading one page of several owners' lists: each owner's rows ranked with a window function and cut at
 * `size + 1`. Values: `ownerIds`, `limit` (`size + 1`), `after` (later pages) and `viewerId` (signed in). Prepared
 * the first time each variant is needed, once per database.
 */
const pageStatements = preparedPerDatabase(() => new Map<string, ReturnType<typeof preparePage>>());
function preparePage(db: Db<typeof schema>, spec: ThreadListSpec, after: boolean, signedIn: boolean) {
  const order = spec.newestFirst ? sql`${threads.id} desc` : sql`${threads.id} asc`;
  const cursor = sql.placeholder('after');
  const ranked = db
    .select({
      ...getTableColumns(threads),
      rank: sql<number>`row_number() over (partition by ${spec.owner} order by ${order})`.as('rank'),
    })
    .from(threads)
    .where(
      and(
        inPlaceholderList(spec.owner, 'ownerIds'),
        spec.where(signedIn ? sql.placeholder('viewerId') : null),
        after ? (spec.newestFirst ? lt(threads.id, cursor) : gt(threads.id, cursor)) : undefined,
      ),
    )
    .as('ranked');
  return db
    .select()
    .from(ranked)
    .where(lte(ranked.rank, sql.placeholder('limit')))
    .orderBy(spec.newestFirst ? desc(ranked.id) : asc(ranked.id))
    .prepare(`threads_${spec.name}${after ? '_after' : ''}${signedIn ? '_visible' : ''}`);
}
function pageStatement(db: Db<typeof schema>, spec: ThreadListSpec, after: boolean, signedIn: boolean) {
  const prepared = pageStatements(db);
  const key = `${spec.name}:${after}:${signedIn}`;
  let statement = prepared.get(key);
  if (!statement) {
    statement = preparePage(db, spec, after, signedIn);
    prepared.set(key, statement);
  }
  return statement;
}

/**
 * Loads pages of several owners' lists (several profiles' threads, several threads' replies) in one statement per
 * distinct (size, after). So a list of profiles that each show their threads costs one query, not one per profile.
 */
function threadPages(db: Db<typeof schema>, viewerId: number | null, spec: ThreadListSpec) {
  return new DataLoader<ThreadPageKey, ThreadModel[], string>(
    async (keys) => {
      await spec.before?.();
      const groups = new Map<string, { size: number; after: number | null; ownerIds: number[] }>();
      for (const { ownerId, size, after } of keys) {
        const groupKey = `${size}:${after ?? ''}`;
        const group = groups.get(groupKey) ?? { size, after, ownerIds: [] };
        group.ownerIds.push(ownerId);
        groups.set(groupKey, group);
      }
      const pages = new Map<string, ThreadModel[]>();
      for (const [groupKey, { size, after, ownerIds }] of groups) {
        const statement = pageStatement(db, spec, after !== null, viewerId !== null);
        const rows = await statement.execute({ ownerIds, limit: size + 1, after, viewerId });
        for (const { rank: _rank, ...row } of rows) {
          const key = `${spec.ownerOf(row)}:${groupKey}`;
          pages.set(key, [...(pages.get(key) ?? []), row]);
        }
      }
      return keys.map(({ ownerId, size, after }) => pages.get(`${ownerId}:${size}:${after ?? ''}`) ?? []);
    },
    { cacheKeyFn: ({ ownerId, size, after }) => `${ownerId}:${size}:${after ?? ''}` },
  );
}

/** How one stored counter is made of rows: which table, the column naming its owner and the one naming the person. */
interface CounterSpec {
  table: PgTable;
  owner: AnyPgColumn;
  person: AnyPgColumn;
}

/**
 * How many of the rows a stored counter counts (by owner) name someone hidden from the viewer, for a batch of owners
 * in one statement. Zero, without a query, for anonymous viewers and for a viewer nobody has blocked.
 */
function hiddenCount(
  db: Db<typeof schema>,
  viewerId: number | null,
  spec: CounterSpec,
  anyoneBlockedViewer: () => Promise<boolean>,
) {
  const counts = rowLoader<number, { id: number; hidden: number }>(
    async (ids) => {
      if (viewerId === null || !(await anyoneBlockedViewer())) return [];
      const rows = await db
        .select({ id: spec.owner, hidden: count() })
        .from(spec.table)
        .where(and(inArray(spec.owner, ids), hiddenFrom(db, spec.person, viewerId)))
        .groupBy(spec.owner);
      return rows.map((row) => ({ id: Number(row.id), hidden: row.hidden }));
    },
    (row) => row.id,
  );
  return { load: async (id: number): Promise<number> => (await counts.load(id))?.hidden ?? 0 };
}

/**
 * Whether anyone has blocked the viewer (a person or a placeholder), as a column: the first statement of a profile or
 * a feed reads it along and hands it to `primeAnyoneBlockedViewer`, which spares the request a statement of its own.
 */
export const anyoneBlockedViewerColumn = (viewerId: ViewerIdValue) =>
  sql<boolean>`exists (select from ${blocks} where ${blocks.blockedId} = ${viewerId})`;

/** The statements of the loaders most reads use (a page of profiles, a feed), prepared once per database. */
const loaderStatements = preparedPerDatabase((db: Db<typeof schema>) => {
  const viewerId = sql.placeholder('viewerId');
  return {
    profilesById: db
      .select()
      .from(profiles)
      .where(inPlaceholderList(profiles.id, 'ids'))
      .prepare('threads_profiles_by_id'),
    anyoneBlockedViewer: db
      .select({ id: blocks.blockerId })
      .from(blocks)
      .where(eq(blocks.blockedId, viewerId))
      .limit(1)
      .prepare('threads_anyone_blocked_viewer'),
    likedByViewer: db
      .select({ id: likes.threadId })
      .from(likes)
      .where(and(eq(likes.profileId, viewerId), inPlaceholderList(likes.threadId, 'ids')))
      .prepare('threads_liked_by_viewer'),
  };
});

/**
 * Creates the DataLoaders of one request; never shared between requests. `catchUpBlocks` brings the blocks projection
 * up to date (at most once per request); every loader that reads blocks awaits it first.
 */
export function createLoaders(db: Db<typeof schema>, viewerId: number | null, catchUpBlocks: () => Promise<void>) {
  const statements = loaderStatements(db);
  // Nobody can block an anonymous viewer, so their requests never wait for the projection.
  const before = viewerId === null ? undefined : catchUpBlocks;
  const visibleAuthor = (viewer: ViewerIdValue | null) => visibleTo(db, threads.authorId, viewer);
  // Most viewers are blocked by nobody: one look (at most one row, after catching up) then spares every hidden
  // counter and "has blocked the viewer" question of the request its own statement.
  let blockedByAnyone: Promise<boolean> | undefined;
  const anyoneBlockedViewer = () =>
    (blockedByAnyone ??= (async () => {
      if (viewerId === null) return false;
      await catchUpBlocks();
      const [row] = await statements.anyoneBlockedViewer.execute({ viewerId });
      return row !== undefined;
    })());
  return {
    /** Takes whether anyone has blocked the viewer, read after catching up (see `anyoneBlockedViewerColumn`). */
    primeAnyoneBlockedViewer(blocked: boolean) {
      blockedByAnyone ??= Promise.resolve(blocked);
    },
    profileById: rowLoader<number, ProfileModel>(
      (ids) => statements.profilesById.execute({ ids }),
      (row) => row.id,
    ),
    /** Any thread by id, whoever wrote it: mutations tell "hidden from you" (FORBIDDEN) from "missing" (NOT_FOUND). */
    threadById: rowLoader<number, ThreadModel>(
      (ids) => db.select().from(threads).where(inArray(threads.id, ids)),
      (row) => row.id,
    ),
    /** A page of a profile's top-level threads, newest first; empty to a viewer the owner has blocked. */
    threadsByAuthor: threadPages(db, viewerId, {
      name: 'by_author',
      owner: threads.authorId,
      ownerOf: (row) => row.authorId,
      newestFirst: true,
      where: (viewer) => and(eq(threads.isReply, false), visibleAuthor(viewer)),
      before,
    }),
    /** A page of a thread's replies, oldest first, leaving out replies by people who blocked the viewer. */
    repliesByThread: threadPages(db, viewerId, {
      name: 'replies',
      owner: threads.replyToId,
      ownerOf: (row) => row.replyToId,
      newestFirst: false,
      where: visibleAuthor,
      before,
    }),
    /** How many of a thread's replies are by people who blocked the viewer: counted in `replyCount`, hidden from them. */
    hiddenReplyCount: hiddenCount(
      db,
      viewerId,
      { table: threads, owner: threads.replyToId, person: threads.authorId },
      anyoneBlockedViewer,
    ),
    /** How many of a profile's Threads followers blocked the viewer: counted in `followerCount`, hidden from them. */
    hiddenFollowerCount: hiddenCount(
      db,
      viewerId,
      { table: profileFollows, owner: profileFollows.followeeId, person: profileFollows.followerId },
      anyoneBlockedViewer,
    ),
    /** How many profiles a profile follows on Threads are of people who blocked the viewer: hidden from them. */
    hiddenFollowingCount: hiddenCount(
      db,
      viewerId,
      { table: profileFollows, owner: profileFollows.followerId, person: profileFollows.followeeId },
      anyoneBlockedViewer,
    ),
    /** The person (by Instagram user id) has blocked the viewer on Instagram, so Threads hides them from the viewer. */
    hasBlockedViewer: membership(viewerId, async (viewer, ids) => {
      if (!(await anyoneBlockedViewer())) return [];
      return (
        await db
          .select({ id: blocks.blockerId })
          .from(blocks)
          .where(and(eq(blocks.blockedId, viewer), inArray(blocks.blockerId, ids)))
      ).map((row) => row.id);
    }),
    /** The viewer likes the thread. */
    likedByViewer: membership(viewerId, async (viewer, ids) =>
      (await statements.likedByViewer.execute({ viewerId: viewer, ids })).map((row) => row.id),
    ),
    /** The viewer follows the profile on Threads. */
    followedByViewer: membership(viewerId, async (viewer, ids) =>
      (
        await db
          .select({ id: profileFollows.followeeId })
          .from(profileFollows)
          .where(and(eq(profileFollows.followerId, viewer), inArray(profileFollows.followeeId, ids)))
      ).map((row) => row.id),
    ),
  };
}

/** The DataLoaders of one request. */
export type Loaders = ReturnType<typeof createLoaders>;
