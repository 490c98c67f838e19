import { and, eq, or } from 'drizzle-orm';
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

interface PairChange {
  kind: 'follow' | 'block';
  from: number;
  to: number;
  active: boolean;
}

/**
 * Applies a batch. Each event carries its pair's state after the change, so only the last event per pair matters and
 * replaying an entry twice is harmless; that is what makes a stale position (a restarted in-process stream) safe.
 */
async function apply(tx: DbTransaction<typeof schema>, entries: StreamEntry<RelationshipEvent>[], logger: Logger): Promise<void> {
  const latest = new Map<string, PairChange>();
  const mentioned = new Set<number>();
  for (const { id, event } of entries) {
    const fact = readRelationshipEvent(event);
    if (!fact) {
      logger.warn({ entryId: id }, 'skipping a relationship event of unknown shape');
      continue;
    }
    if (fact.kind === 'account') {
      mentioned.add(fact.userId);
      continue;
    }
    latest.set(`${fact.kind}:${fact.from}:${fact.to}`, fact);
    mentioned.add(fact.from).add(fact.to);
  }
  const changes = [...latest.values()];
  const pairs = (kind: 'follow' | 'block', active: boolean) => changes.filter((c) => c.kind === kind && c.active === active);

  const followed = pairs('follow', true);
  const unfollowed = pairs('follow', false);
  const blocked = pairs('block', true);
  const unblocked = pairs('block', false);
  if (followed.length) {
    await tx.insert(follows).values(followed.map((c) => ({ followerId: c.from, followeeId: c.to }))).onConflictDoNothing();
  }
  if (unfollowed.length) {
    await tx.delete(follows).where(or(...unfollowed.map((c) => and(eq(follows.followerId, c.from), eq(follows.followeeId, c.to)))));
  }
  if (blocked.length) {
    await tx.insert(blocks).values(blocked.map((c) => ({ blockerId: c.from, blockedId: c.to }))).onConflictDoNothing();
  }
  if (unblocked.length) {
    await tx.delete(blocks).where(or(...unblocked.map((c) => and(eq(blocks.blockerId, c.from), eq(blocks.blockedId, c.to)))));
  }
  if (mentioned.size) {
    await tx.insert(knownUsers).values([...mentioned].map((userId) => ({ userId }))).onConflictDoNothing();
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
    logger,
    batchSize,
    apply: (tx, entries) => apply(tx, entries, logger),
  });
}
