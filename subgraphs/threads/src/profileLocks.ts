// Row locks on Threads profiles, taken in one order by everything that must not race a block.
import { asc, inArray } from 'drizzle-orm';
import type { DbTransaction } from '@igt/common';
import * as schema from './db/schema.js';

const { profiles } = schema;

/**
 * Locks the given profiles in id order. Following, liking and the block projection all take these locks before they
 * look at the other's table, so a follow or like racing a block either commits first (and the block then removes it)
 * or waits and sees the block.
 */
export async function lockProfiles(tx: DbTransaction<typeof schema>, ids: number[]): Promise<void> {
  await tx
    .select({ id: profiles.id })
    .from(profiles)
    .where(inArray(profiles.id, ids))
    .orderBy(asc(profiles.id))
    .for('update');
}
