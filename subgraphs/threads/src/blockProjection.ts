import { and, asc, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import {
  createStreamProjection,
  readRelationshipEvent,
  RELATIONSHIPS_STREAM,
  type Db,
  type DbTransaction,
  type EventStream,
  type Logger,
  type RelationshipEvent,
  type StreamEntry,
  type StreamProjection,
} from '@igt/common';
import * as schema from './db/schema.js';

const { blocks, likes, profileFollows, profiles, streamPositions, threads } = schema;

/** Threads' own copy of Instagram blocks, fed by the relationships stream. */
export type BlockProjection = StreamProjection;

/** Tuning for the projection. */
export interface BlockProjectionOptions {
  /** Entries applied per transaction. */
  batchSize?: number;
}

interface Pair {
  blockerId: number;
  blockedId: number;
}

/**
 * Locks the given profiles in id order. Following and the block projection both take these locks before they look at
 * the other's table, so a follow racing a block either commits first (and the block then removes it) or waits and
 * sees the block.
 */
export async function lockProfiles(tx: DbTransaction<typeof schema>, ids: number[]): Promise<void> {
  await tx.select({ id: profiles.id }).from(profiles).where(inArray(profiles.id, ids)).orderBy(asc(profiles.id)).for('update');
}

/** `column - n` for the rows whose `key` is in `deltas`, `column` for the rest: one UPDATE adjusts every counter. */
function minus(column: AnyPgColumn, key: AnyPgColumn, deltas: Map<number, number>): SQL {
  const cases = [...deltas].map(([id, n]) => sql`when ${id} then ${n}::integer`);
  return sql`${column} - case ${key} ${sql.join(cases, sql` `)} else 0 end`;
}

/** How many times each value occurs. */
function tally(values: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/**
 * Removes the Threads follows between each pair, both directions, keeping follower and following counters right.
 * Instagram does the same with its own follows when someone blocks.
 */
async function severFollows(tx: DbTransaction<typeof schema>, pairs: Pair[]): Promise<void> {
  const removed = await tx
    .delete(profileFollows)
    .where(
      or(
        ...pairs.flatMap(({ blockerId, blockedId }) => [
          and(eq(profileFollows.followerId, blockerId), eq(profileFollows.followeeId, blockedId)),
          and(eq(profileFollows.followerId, blockedId), eq(profileFollows.followeeId, blockerId)),
        ]),
      ),
    )
    .returning({ followerId: profileFollows.followerId, followeeId: profileFollows.followeeId });
  if (!removed.length) return;
  const following = tally(removed.map((row) => row.followerId));
  const followers = tally(removed.map((row) => row.followeeId));
  await tx
    .update(profiles)
    .set({
      followingCount: minus(profiles.followingCount, profiles.id, following),
      followerCount: minus(profiles.followerCount, profiles.id, followers),
    })
    .where(inArray(profiles.id, [...new Set([...following.keys(), ...followers.keys()])]));
}

/** Removes the likes each of a pair gave the other's threads and replies, keeping like counts right. */
async function removeLikes(tx: DbTransaction<typeof schema>, pairs: Pair[]): Promise<void> {
  const byAuthor = (authorId: number) => tx.select({ id: threads.id }).from(threads).where(eq(threads.authorId, authorId));
  const removed = await tx
    .delete(likes)
    .where(
      or(
        ...pairs.flatMap(({ blockerId, blockedId }) => [
          and(eq(likes.profileId, blockedId), inArray(likes.threadId, byAuthor(blockerId))),
          and(eq(likes.profileId, blockerId), inArray(likes.threadId, byAuthor(blockedId))),
        ]),
      ),
    )
    .returning({ threadId: likes.threadId });
  if (!removed.length) return;
  const counts = tally(removed.map((row) => row.threadId));
  await tx
    .update(threads)
    .set({ likeCount: minus(threads.likeCount, threads.id, counts) })
    .where(inArray(threads.id, [...counts.keys()]));
}

/**
 * Applies a batch. The blocks table takes each pair's last state in the batch (events carry the state after the
 * change, so replaying is harmless). Follows and likes between the two go for every pair blocked anywhere in the
 * batch, even if unblocked later in it: a block ends them for good, as on Instagram, and none can have been made
 * during the block because following and liking check for blocks under the same profile locks.
 */
async function apply(tx: DbTransaction<typeof schema>, entries: StreamEntry<RelationshipEvent>[], logger: Logger): Promise<void> {
  const latest = new Map<string, Pair & { active: boolean }>();
  const severed = new Map<string, Pair>();
  for (const { id, event } of entries) {
    const fact = readRelationshipEvent(event);
    if (!fact) {
      logger.warn({ entryId: id }, 'skipping a relationship event of unknown shape');
      continue;
    }
    // Threads follows are Threads' own; Instagram follows and new accounts do not concern it.
    if (fact.kind !== 'block') continue;
    const key = `${fact.from}:${fact.to}`;
    const pair = { blockerId: fact.from, blockedId: fact.to };
    latest.set(key, { ...pair, active: fact.active });
    if (fact.active) severed.set(key, pair);
  }
  const changes = [...latest.values()];
  const blocked = changes.filter((change) => change.active);
  const unblocked = changes.filter((change) => !change.active);
  if (blocked.length) {
    await tx
      .insert(blocks)
      .values(blocked.map(({ blockerId, blockedId }) => ({ blockerId, blockedId })))
      .onConflictDoNothing();
  }
  if (unblocked.length) {
    await tx
      .delete(blocks)
      .where(or(...unblocked.map(({ blockerId, blockedId }) => and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)))));
  }
  if (severed.size) {
    const pairs = [...severed.values()];
    await lockProfiles(tx, [...new Set(pairs.flatMap((pair) => [pair.blockerId, pair.blockedId]))]);
    await severFollows(tx, pairs);
    await removeLikes(tx, pairs);
  }
}

/**
 * Keeps Threads' blocks projection in step with Instagram's relationships stream (the shared `createStreamProjection`
 * does the reading, locking and position keeping; this supplies what a batch changes).
 */
export function createBlockProjection(
  db: Db<typeof schema>,
  events: EventStream,
  logger: Logger,
  { batchSize = 500 }: BlockProjectionOptions = {},
): BlockProjection {
  return createStreamProjection<typeof schema, RelationshipEvent>({
    db,
    events,
    stream: RELATIONSHIPS_STREAM,
    positions: streamPositions,
    logger,
    batchSize,
    apply: (tx, entries) => apply(tx, entries, logger),
  });
}

/** Whether either person has blocked the other. */
export async function blockedEitherWay(db: Db<typeof schema> | DbTransaction<typeof schema>, a: number, b: number): Promise<boolean> {
  const [row] = await db
    .select({ blockerId: blocks.blockerId })
    .from(blocks)
    .where(or(and(eq(blocks.blockerId, a), eq(blocks.blockedId, b)), and(eq(blocks.blockerId, b), eq(blocks.blockedId, a))))
    .limit(1);
  return row !== undefined;
}
