/** Resolvers of Instagram's Status type: a person's emoji-and-text status, manual or automatic. */
import type { StatusResolvers } from '../generated/resolvers-types.js';
import type { Activity } from '../generated/resolvers-types.js';

/** Resolves Status from its stored row; who may see a status at all is decided in `User.status`. */
export const Status: StatusResolvers = {
  activity: (status) => status.activity as Activity | null,
  setAt: (status) => status.setAt.toISOString(),
  expiresAt: (status) => status.expiresAt?.toISOString() ?? null,
};
