// Instagram's root queries.
import { and, eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { visibleTo } from '../hiddenFrom.js';
import { userColumns } from '../loaders.js';

/** Instagram's root queries: the signed-in viewer, and a user by username (null to anyone that user has blocked). */
export const Query: QueryResolvers = {
  viewer: (_parent, _args, { viewerId, loaders }) => (viewerId === null ? null : loaders.userById.load(viewerId)),

  async user(_parent, { username }, { db, loaders, viewerId }) {
    const [row] = await db
      .select(userColumns)
      .from(users)
      // Someone who blocked the viewer is invisible to them.
      .where(and(eq(users.username, username.trim().toLowerCase()), visibleTo(db, users.id, viewerId)))
      .limit(1);
    if (!row) return null;
    loaders.userById.prime(row.id, row);
    return row;
  },
};
