// The contract of Instagram's relationships stream: what Instagram publishes and how a consumer reads it.
import type { Logger } from './logger.js';
import type { StreamEntry } from './streams.js';

/**
 * The stream on which Instagram publishes relationship changes: an account was created, or a follow or block changed
 * (each carrying the pair's state after the change, so only the last event per pair matters).
 */
export const RELATIONSHIPS_STREAM = 'instagram.relationships';

/**
 * Every service that keeps a projection of the relationships stream, by the name it acknowledges its position under.
 * An entry is trimmed once all of them have applied it; one that is down (or new, never acknowledged) holds trimming
 * back rather than miss events. A new consumer joins this list before it is deployed, and one that is retired leaves it.
 */
export const RELATIONSHIPS_CONSUMERS = ['messaging', 'threads'] as const;

/** On the wire: `userId`'s account now exists (and so can be followed, blocked and messaged). */
export interface AccountEvent {
  kind: 'account';
  userId: string;
}

/** On the wire: `followerId` now follows `followeeId` (`active`) or no longer does. */
export interface FollowEvent {
  kind: 'follow';
  followerId: string;
  followeeId: string;
  active: boolean;
}

/** On the wire: `blockerId` now blocks `blockedId` (`active`) or no longer does. */
export interface BlockEvent {
  kind: 'block';
  blockerId: string;
  blockedId: string;
  active: boolean;
}

/**
 * An entry of the relationships stream as Instagram writes it (ids as strings). Consumers go through
 * `readRelationshipEvents`, since the entry may come from an older or newer Instagram.
 */
export type RelationshipEvent = AccountEvent | FollowEvent | BlockEvent;

/** The event for `userId`'s new account. */
export const accountEvent = (userId: number): AccountEvent => ({ kind: 'account', userId: String(userId) });

/** The event for `followerId` now following `followeeId` (`active`) or no longer. */
export const followEvent = (followerId: number, followeeId: number, active: boolean): FollowEvent => ({
  kind: 'follow',
  followerId: String(followerId),
  followeeId: String(followeeId),
  active,
});

/** The event for `blockerId` now blocking `blockedId` (`active`) or no longer. */
export const blockEvent = (blockerId: number, blockedId: number, active: boolean): BlockEvent => ({
  kind: 'block',
  blockerId: String(blockerId),
  blockedId: String(blockedId),
  active,
});

/** An account event, checked, with a numeric id. */
export interface AccountFact {
  kind: 'account';
  userId: number;
}

/** A follow event, checked, with numeric ids: the pair's state after the change. */
export interface FollowFact {
  kind: 'follow';
  followerId: number;
  followeeId: number;
  active: boolean;
}

/** A block event, checked, with numeric ids: the pair's state after the change. */
export interface BlockFact {
  kind: 'block';
  blockerId: number;
  blockedId: number;
  active: boolean;
}

/** A relationship event as a consumer applies it: checked, with numeric ids. */
export type RelationshipFact = AccountFact | FollowFact | BlockFact;

const USER_ID = /^[1-9]\d{0,14}$/;
const isUserId = (value: unknown): value is string => typeof value === 'string' && USER_ID.test(value);

/** One event checked against the contract; null for one this version does not understand. */
function readRelationshipEvent(event: RelationshipEvent): RelationshipFact | null {
  switch (event.kind) {
    case 'account':
      return isUserId(event.userId) ? { kind: 'account', userId: Number(event.userId) } : null;
    case 'follow': {
      const { followerId, followeeId, active } = event;
      if (!isUserId(followerId) || !isUserId(followeeId) || typeof active !== 'boolean') return null;
      return { kind: 'follow', followerId: Number(followerId), followeeId: Number(followeeId), active };
    }
    case 'block': {
      const { blockerId, blockedId, active } = event;
      if (!isUserId(blockerId) || !isUserId(blockedId) || typeof active !== 'boolean') return null;
      return { kind: 'block', blockerId: Number(blockerId), blockedId: Number(blockedId), active };
    }
    default:
      return null;
  }
}

/**
 * Reads a batch of the relationships stream, oldest first. An entry this version does not understand is skipped with
 * a warning rather than stopping the projection on it.
 */
export function readRelationshipEvents(entries: StreamEntry<RelationshipEvent>[], logger: Logger): RelationshipFact[] {
  const facts: RelationshipFact[] = [];
  for (const { id, event } of entries) {
    const fact = readRelationshipEvent(event);
    if (fact) facts.push(fact);
    else logger.warn({ entryId: id }, 'skipping a relationship event of unknown shape');
  }
  return facts;
}

/** The pair a follow or block fact is about, as a map key. */
const pairKey = (fact: FollowFact | BlockFact): string =>
  fact.kind === 'follow' ? `follow:${fact.followerId}:${fact.followeeId}` : `block:${fact.blockerId}:${fact.blockedId}`;

/**
 * The last fact per pair (and kind), in the order the pairs first appear. Each event carries its pair's state after
 * the change, so applying only these gives the same result as applying all of them, and applying them twice is
 * harmless: that is what makes replaying a batch safe.
 */
export function latestPerPair<TFact extends FollowFact | BlockFact>(facts: TFact[]): TFact[] {
  const latest = new Map<string, TFact>();
  for (const fact of facts) latest.set(pairKey(fact), fact);
  return [...latest.values()];
}
