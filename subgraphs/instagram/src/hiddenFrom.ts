// Instagram's rule "a person who has blocked the viewer is hidden from the viewer", in one place.
import type { SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { blockedBy, notBlockedBy, type Db, type ViewerIdValue } from '@igt/common';
import * as schema from './db/schema.js';
import type { Loaders } from './loaders.js';
import type { UserModel } from './models.js';

const { blocks } = schema;

/*
 * The rule, as Instagram applies it. Someone who has blocked the viewer does not exist for the viewer: not by
 * username, not by reference (`_entities`), not on anyone's followers, following, close friends or follow requests,
 * and not in the follower and following counts shown beside those lists (a count that includes the blocker while
 * the list leaves them out would give them away). It is one-way: the blocker still sees the person they blocked.
 * Anonymous viewers cannot be blocked, so nothing is hidden from them.
 */

/**
 * SQL condition over rows whose `person` column names a user: that user has blocked `viewerId`, so a stored counter
 * that includes them shows the viewer one too many.
 */
export const hiddenFrom = (db: Db<typeof schema>, person: AnyPgColumn, viewerId: number): SQL =>
  blockedBy(db, blocks, person, viewerId);

/**
 * SQL condition for lists of people: keeps the rows whose `person` column names someone visible to the viewer.
 * Undefined (no condition) for anonymous viewers.
 */
export const visibleTo = (
  db: Db<typeof schema>,
  person: AnyPgColumn,
  viewerId: ViewerIdValue | null,
): SQL | undefined => notBlockedBy(db, blocks, person, viewerId);

/** A user the viewer may see, by id: null when there is none or they have blocked the viewer. */
export async function visibleUser(loaders: Loaders, id: number): Promise<UserModel | null> {
  const user = await loaders.visibleUserById.load(id);
  if (user) loaders.userById.prime(id, user);
  return user;
}

/** A stored follower or following count as the viewer may see it: without the people hidden from them. */
export async function visibleCount(stored: number, hidden: Promise<number>): Promise<number> {
  return stored - (await hidden);
}
