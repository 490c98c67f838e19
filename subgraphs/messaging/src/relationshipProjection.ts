// Messaging's projection of Instagram's relationships stream: the follows, blocks and accounts it needs at write time.
import { and, eq, or } from 'drizzle-orm';
import {
  createStreamProjection,
  latestPerPair,
  readRelationshipEvents,
  RELATIONSHIPS_CONSUMERS,
  RELATIONSHIPS_STREAM,
  type BlockFact,
  type Db,
  type DbTransaction,
  type EventStream,
  type FollowFact,
  type Logger,
  type RelationshipEvent,
  type StreamEntry,
  type StreamProjection,
} from '@igt/common';
import * as schema from './db/schema.js';

const { blocks, follows, knownUsers, streamPositions } = schema;

/** Messaging's own copy of the Instagram follows and blocks it needs at write time. */
export interface RelationshipProjection extends StreamProjection {
  /**
   * Applies every relationship event published so far. Awaited at the start of each send and each MessageAction
   * resolution, so a follow or block that Instagram has acknowledged is honoured by the very next request.
   */
  catchUp(): Promise<void>;
}

/** Tuning for the projection. */
export interface RelationshipProjectionOptions {
  /** Entries applied per transaction. */
  batchSize?: number;
}

/**
 * Applies a batch: each pair's last follow and block state, and every account the batch mentions (so a person is
 * known to Messaging as soon as Instagram has their account).
 */
async function apply(
  tx: DbTransaction<typeof schema>,
  entries: StreamEntry<RelationshipEvent>[],
  logger: Logger,
): Promise<void> {
  const facts = readRelationshipEvents(entries, logger);
  const mentioned = new Set<number>();
  const followChanges: FollowFact[] = [];
  const blockChanges: BlockFact[] = [];
  for (const fact of facts) {
    if (fact.kind === 'account') {
      mentioned.add(fact.userId);
    } else if (fact.kind === 'follow') {
      followChanges.push(fact);
      mentioned.add(fact.followerId).add(fact.followeeId);
    } else {
      blockChanges.push(fact);
      mentioned.add(fact.blockerId).add(fact.blockedId);
    }
  }
  const followed = latestPerPair(followChanges);
  const blocked = latestPerPair(blockChanges);
  const added = followed.filter((f) => f.active);
  const removed = followed.filter((f) => !f.active);
  const blocksAdded = blocked.filter((b) => b.active);
  const blocksRemoved = blocked.filter((b) => !b.active);
  if (added.length) {
    await tx
      .insert(follows)
      .values(added.map(({ followerId, followeeId }) => ({ followerId, followeeId })))
      .onConflictDoNothing();
  }
  if (removed.length) {
    await tx
      .delete(follows)
      .where(
        or(...removed.map((f) => and(eq(follows.followerId, f.followerId), eq(follows.followeeId, f.followeeId)))),
      );
  }
  if (blocksAdded.length) {
    await tx
      .insert(blocks)
      .values(blocksAdded.map(({ blockerId, blockedId }) => ({ blockerId, blockedId })))
      .onConflictDoNothing();
  }
  if (blocksRemoved.length) {
    await tx
      .delete(blocks)
      .where(
        or(...blocksRemoved.map((b) => and(eq(blocks.blockerId, b.blockerId), eq(blocks.blockedId, b.blockedId)))),
      );
  }
  if (mentioned.size) {
    await tx
      .insert(knownUsers)
      .values([...mentioned].map((userId) => ({ userId })))
      .onConflictDoNothing();
  }
}

/**
 * Keeps Messaging's follows/blocks projection in step with Instagram's relationships stream (the shared
 * `createStreamProjection` does the reading, locking and position keeping; this supplies what a batch changes).
 */
export function createRelationshipProjection(
  db: Db<typeof schema>,
  events: EventStream,
  logger: Logger,
  { batchSize = 500 }: RelationshipProjectionOptions = {},
): RelationshipProjection {
  return createStreamProjection<typeof schema, RelationshipEvent>({
    db,
    events,
    stream: RELATIONSHIPS_STREAM,
    positions: streamPositions,
    consumer: { name: 'messaging', all: RELATIONSHIPS_CONSUMERS },
    logger,
    batchSize,
    apply: (tx, entries) => apply(tx, entries, logger),
  });
}
