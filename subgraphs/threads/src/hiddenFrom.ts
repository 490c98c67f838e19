// Threads' rule "a person who has blocked the viewer on Instagram is hidden from the viewer", in one place.
import type { SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { blockedBy, notBlockedBy, type Db, type ViewerIdValue } from '@igt/common';
import * as schema from './db/schema.js';
import type { Loaders } from './loaders.js';
import type { ProfileModel, ThreadModel } from './models.js';

const { blocks } = schema;

/*
 * The rule, as Threads applies it from its own projection of Instagram's blocks. Someone who has blocked the viewer
 * does not exist for the viewer on Threads: not their profile (by username, by reference, as `threadsProfile`), not
 * their threads (by id, by reference, as `replyTo`, in the feed), not their replies in any thread's `replies`; and the
 * counters shown beside those (`replyCount`, a profile's follower and following counts) leave them out too, so a
 * count never gives away what the list hides. It is one-way: the blocker still sees the person they blocked.
 * Anonymous viewers cannot be blocked, so nothing is hidden from them.
 */

/**
 * SQL condition over rows whose `person` column names an author or a profile owner: that person has blocked
 * `viewerId`, so a stored counter that includes them shows the viewer one too many.
 */
export const hiddenFrom = (db: Db<typeof schema>, person: AnyPgColumn, viewerId: number): SQL =>
  blockedBy(db, blocks, person, viewerId);

/**
 * SQL condition for lists: keeps the rows whose `person` column names someone visible to the viewer. Undefined (no
 * condition) for anonymous viewers.
 */
export const visibleTo = (
  db: Db<typeof schema>,
  person: AnyPgColumn,
  viewerId: ViewerIdValue | null,
): SQL | undefined => notBlockedBy(db, blocks, person, viewerId);

/** A thread the viewer may see: it exists and its author has not blocked the viewer. Null otherwise. */
export async function visibleThread(loaders: Loaders, id: number): Promise<ThreadModel | null> {
  const thread = await loaders.threadById.load(id);
  if (!thread) return null;
  return (await loaders.hasBlockedViewer.load(thread.authorId)) ? null : thread;
}

/** A profile the viewer may see: it exists and its owner has not blocked the viewer. Null otherwise. */
export async function visibleProfile(loaders: Loaders, id: number): Promise<ProfileModel | null> {
  const [profile, hidden] = await Promise.all([loaders.profileById.load(id), loaders.hasBlockedViewer.load(id)]);
  return profile && !hidden ? profile : null;
}

/** A stored counter as the viewer may see it: without the people hidden from them. */
export async function visibleCount(stored: number, hidden: Promise<number>): Promise<number> {
  return stored - (await hidden);
}
