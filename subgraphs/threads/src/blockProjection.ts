// Threads' projection of Instagram's relationships stream: its own copy of blocks, and what a block ends on Threads.
import { and, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import {
  createStreamProjection,
  latestPerPair,
  readRelationshipEvents,
  RELATIONSHIPS_CONSUMERS,
  RELATIONSHIPS_STREAM,
  type BlockFact,
  type BlockPair,
  type Db,
  type DbTransaction,
  type EventStream,
  type Logger,
  type RelationshipEvent,
  type StreamEntry,
  type StreamProjection,
} from '@igt/common';
import * as schema from './db/schema.js';
import { lockProfiles } from './profileLocks.js';

const { blocks, likes, profileFollows, profiles, streamPositions, threads } = schema;

/** Threads' own copy of Instagram blocks, fed by the relationships stream. */
export type BlockProjection = StreamProjection;

/** Tuning for the projection. */
export interface BlockProjectionOptions {
  /** Entries applied per transaction. */
  batchSize?: number;
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
async function severFollows(tx: DbTransaction<typeof schema>, pairs: BlockPair[]): Promise<void> {
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
async function removeLikes(tx: DbTransaction<typeof schema>, pairs: BlockPair[]): Promise<void> {
  const byAuthor = (authorId: number) =>
    tx.select({ id: threads.id }).from(threads).where(eq(threads.authorId, authorId));
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
async function apply(
  tx: DbTransaction<typeof schema>,
  entries: StreamEntry<RelationshipEvent>[],
  logger: Logger,
): Promise<void> {
  // Threads follows are Threads' own; Instagram follows and new accounts do not concern it.
  const blockChanges = readRelationshipEvents(entries, logger).filter(
    (fact): fact is BlockFact => fact.kind === 'block',
  );
  const changes = latestPerPair(blockChanges);
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
      .where(
        or(
          ...unblocked.map(({ blockerId, blockedId }) =>
            and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)),
          ),
        ),
      );
  }
  const severed = latestPerPair(blockChanges.filter((change) => change.active));
  if (severed.length) {
    await lockProfiles(tx, [...new Set(severed.flatMap((pair) => [pair.blockerId, pair.blockedId]))]);
    await severFollows(tx, severed);
    await removeLikes(tx, severed);
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
    consumer: { name: 'threads', all: RELATIONSHIPS_CONSUMERS },
    logger,
    batchSize,
    apply: (tx, entries) => apply(tx, entries, logger),
  });
}
