// Messaging's known users: which Instagram user ids name a real account (the `known_users` projection).
import { inArray } from 'drizzle-orm';
import { DEMO_PEOPLE, type Db } from '@igt/common';
import * as schema from './db/schema.js';

const { knownUsers } = schema;

/**
 * Which Instagram user ids name a real account. Messaging may not read Instagram's users table, and Instagram's
 * stream only carries relationship changes, so an id counts as real when there is evidence for it:
 * - the relationships stream announced it (Instagram publishes every new account) or mentioned it in a follow or block;
 * - it is one of the demo people (fixed ids, seeded by every subgraph);
 * - the gateway vouched for it: the viewer of any Messaging request, or the recipient of a MessageAction reference
 *   (only the gateway's query plans send representations, built from Instagram or Threads data).
 * Anything else is NOT_FOUND.
 */
export interface KnownUsers {
  /** Records ids the gateway has vouched for. */
  remember(ids: readonly number[]): Promise<void>;
  /** Which of `ids` name a real account: at most one query, none when this process has recorded them all. */
  existing(ids: readonly number[]): Promise<Set<number>>;
}

/** Known users backed by the `known_users` projection, with a per-process memory of ids already recorded. */
export function createKnownUsers(db: Db<typeof schema>): KnownUsers {
  // Saves a write per request once this process has recorded someone.
  const recorded = new Set<number>(DEMO_PEOPLE.map((person) => person.id));
  return {
    async remember(ids) {
      const fresh = [...new Set(ids)].filter((id) => !recorded.has(id));
      if (!fresh.length) return;
      await db
        .insert(knownUsers)
        .values(fresh.map((userId) => ({ userId })))
        .onConflictDoNothing();
      for (const id of fresh) recorded.add(id);
    },
    async existing(ids) {
      const unsure = [...new Set(ids)].filter((id) => !recorded.has(id));
      if (unsure.length) {
        const rows = await db.select().from(knownUsers).where(inArray(knownUsers.userId, unsure));
        for (const row of rows) recorded.add(row.userId);
      }
      return new Set(ids.filter((id) => recorded.has(id)));
    },
  };
}
