import { eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';

/** Instagram's root queries: the signed-in viewer, and a user by username (null to anyone that user has blocked). */
export const Query: QueryResolvers = {
  viewer: (_parent, _args, { viewer, loaders }) => (viewer ? loaders.userById.load(Number(viewer.id)) : null),

  async user(_parent, { username }, { db, loaders }) {
    const [row] = await db.select().from(users).where(eq(users.username, username.trim().toLowerCase())).limit(1);
    if (!row) return null;
    loaders.userById.prime(row.id, row);
    // Someone who blocked the viewer is invisible to them.
    return (await loaders.hasBlockedViewer.load(row.id)) ? null : row;
  },
};
