// Instagram's social graph: follows, follow requests, blocks and close friends, each change with its outbox event.
import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import {
  blockedEitherWay,
  blockEvent,
  followEvent,
  forbidden,
  notFound,
  type Db,
  type DbTransaction,
} from '@igt/common';
import * as schema from './db/schema.js';
import { recordRelationshipChange, type RelationshipPublisher } from './relationshipOutbox.js';

const { blocks, closeFriends, followRequests, follows, users } = schema;

type Tx = DbTransaction<typeof schema>;

/**
 * What a change of the social graph runs on: the database, and the publisher that announces committed follows and
 * blocks to Threads and Messaging (awaited, so the next request there sees them).
 */
export interface SocialGraph {
  db: Db<typeof schema>;
  relationshipPublisher: RelationshipPublisher;
}

/**
 * Moves the counters of both people of a follow by `delta` in one statement, so every transaction that touches a pair
 * locks its two rows in the same order and concurrent follows between them cannot deadlock.
 */
async function countFollow(tx: Tx, followerId: number, followeeId: number, delta: 1 | -1): Promise<void> {
  await tx
    .update(users)
    .set({
      followingCount: sql`${users.followingCount} + case when ${users.id} = ${followerId} then ${delta}::int else 0 end`,
      followerCount: sql`${users.followerCount} + case when ${users.id} = ${followeeId} then ${delta}::int else 0 end`,
    })
    .where(inArray(users.id, [followerId, followeeId]));
}

/** Adds a follow if absent, keeping both counters in step and announcing it to the other subgraphs. */
async function addFollow(tx: Tx, followerId: number, followeeId: number): Promise<void> {
  const inserted = await tx
    .insert(follows)
    .values({ followerId, followeeId })
    .onConflictDoNothing()
    .returning({ followerId: follows.followerId });
  if (!inserted.length) return;
  await countFollow(tx, followerId, followeeId, 1);
  await recordRelationshipChange(tx, followEvent(followerId, followeeId, true));
}

/** Removes a follow if present, keeping both counters in step; returns whether there was one. */
async function removeFollow(tx: Tx, followerId: number, followeeId: number): Promise<boolean> {
  const removed = await tx
    .delete(follows)
    .where(and(eq(follows.followerId, followerId), eq(follows.followeeId, followeeId)))
    .returning({ followerId: follows.followerId });
  if (!removed.length) return false;
  await countFollow(tx, followerId, followeeId, -1);
  await recordRelationshipChange(tx, followEvent(followerId, followeeId, false));
  return true;
}

/** Deletes a pending follow request; returns whether there was one. */
async function removeFollowRequest(
  tx: Tx | Db<typeof schema>,
  requesterId: number,
  targetId: number,
): Promise<boolean> {
  const removed = await tx
    .delete(followRequests)
    .where(and(eq(followRequests.requesterId, requesterId), eq(followRequests.targetId, targetId)))
    .returning({ requesterId: followRequests.requesterId });
  return removed.length > 0;
}

/**
 * `followerId` follows `followeeId`, or asks to when the account is private; nothing when they already do. FORBIDDEN
 * when either has blocked the other.
 */
export async function follow(
  { db, relationshipPublisher }: SocialGraph,
  followerId: number,
  followeeId: number,
): Promise<void> {
  if (await blockedEitherWay(db, blocks, followerId, followeeId)) throw forbidden('You cannot follow this person.');
  await db.transaction(async (tx) => {
    // Both rows are locked, in id order: this orders the follow after any change of the account's privacy (which
    // answers its pending requests), and before the counter update that needs them anyway.
    const locked = await tx
      .select({ id: users.id, isPrivate: users.isPrivate })
      .from(users)
      .where(inArray(users.id, [followerId, followeeId]))
      .orderBy(asc(users.id))
      .for('update');
    const followee = locked.find((row) => row.id === followeeId);
    const [already] = await tx
      .select({ followerId: follows.followerId })
      .from(follows)
      .where(and(eq(follows.followerId, followerId), eq(follows.followeeId, followeeId)));
    if (already) return;
    if (followee?.isPrivate) {
      await tx.insert(followRequests).values({ requesterId: followerId, targetId: followeeId }).onConflictDoNothing();
    } else {
      await addFollow(tx, followerId, followeeId);
    }
  });
  await relationshipPublisher.flush();
}

/** `followerId` no longer follows `followeeId`, nor asks to. */
export async function unfollow(
  { db, relationshipPublisher }: SocialGraph,
  followerId: number,
  followeeId: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    await removeFollow(tx, followerId, followeeId);
    await removeFollowRequest(tx, followerId, followeeId);
  });
  await relationshipPublisher.flush();
}

/** `targetId` lets `requesterId` follow them; NOT_FOUND when `requesterId` has not asked to. */
export async function approveFollowRequest(
  { db, relationshipPublisher }: SocialGraph,
  targetId: number,
  requesterId: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    if (!(await removeFollowRequest(tx, requesterId, targetId)))
      throw notFound(`User ${requesterId} has not asked to follow you.`);
    await addFollow(tx, requesterId, targetId);
  });
  await relationshipPublisher.flush();
}

/** `targetId` turns `requesterId`'s request down; NOT_FOUND when `requesterId` has not asked to follow them. */
export async function declineFollowRequest({ db }: SocialGraph, targetId: number, requesterId: number): Promise<void> {
  if (!(await removeFollowRequest(db, requesterId, targetId)))
    throw notFound(`User ${requesterId} has not asked to follow you.`);
}

/**
 * Everyone waiting to follow `targetId` now does, oldest request first: a public account needs no approval. Runs in
 * the caller's transaction (the one that makes the account public); the caller flushes the publisher after it.
 */
export async function approvePendingFollowRequests(tx: Tx, targetId: number): Promise<void> {
  const pending = await tx
    .delete(followRequests)
    .where(eq(followRequests.targetId, targetId))
    .returning({ requesterId: followRequests.requesterId, seq: followRequests.seq });
  pending.sort((a, b) => a.seq - b.seq);
  for (const { requesterId } of pending) await addFollow(tx, requesterId, targetId);
}

/**
 * `blockerId` blocks `blockedId`: follows and follow requests both ways and close friends both ways end with it.
 * Nothing when the block already exists.
 */
export async function block(
  { db, relationshipPublisher }: SocialGraph,
  blockerId: number,
  blockedId: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(blocks)
      .values({ blockerId, blockedId })
      .onConflictDoNothing()
      .returning({ blockerId: blocks.blockerId });
    if (!inserted.length) return;
    await removeFollow(tx, blockerId, blockedId);
    await removeFollow(tx, blockedId, blockerId);
    await removeFollowRequest(tx, blockerId, blockedId);
    await removeFollowRequest(tx, blockedId, blockerId);
    await tx
      .delete(closeFriends)
      .where(
        or(
          and(eq(closeFriends.ownerId, blockerId), eq(closeFriends.friendId, blockedId)),
          and(eq(closeFriends.ownerId, blockedId), eq(closeFriends.friendId, blockerId)),
        ),
      );
    await recordRelationshipChange(tx, blockEvent(blockerId, blockedId, true));
  });
  await relationshipPublisher.flush();
}

/** `blockerId` no longer blocks `blockedId`; what the block ended stays ended. */
export async function unblock(
  { db, relationshipPublisher }: SocialGraph,
  blockerId: number,
  blockedId: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    const removed = await tx
      .delete(blocks)
      .where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)))
      .returning({ blockerId: blocks.blockerId });
    if (removed.length) await recordRelationshipChange(tx, blockEvent(blockerId, blockedId, false));
  });
  await relationshipPublisher.flush();
}

/**
 * Adds `friendId` to `ownerId`'s close friends (`closeFriend`) or takes them off. Adding is FORBIDDEN when either has
 * blocked the other; taking off always works.
 */
export async function setCloseFriend(
  { db }: SocialGraph,
  ownerId: number,
  friendId: number,
  closeFriend: boolean,
): Promise<void> {
  if (!closeFriend) {
    await db.delete(closeFriends).where(and(eq(closeFriends.ownerId, ownerId), eq(closeFriends.friendId, friendId)));
    return;
  }
  if (await blockedEitherWay(db, blocks, ownerId, friendId))
    throw forbidden('You cannot add this person to your close friends.');
  await db.insert(closeFriends).values({ ownerId, friendId }).onConflictDoNothing();
}
