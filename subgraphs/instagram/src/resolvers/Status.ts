import type { StatusResolvers } from '../generated/resolvers-types.js';
import type { Activity } from '../generated/resolvers-types.js';

export const Status: StatusResolvers = {
  activity: (status) => status.activity as Activity | null,
  setAt: (status) => status.setAt.toISOString(),
  expiresAt: (status) => status.expiresAt?.toISOString() ?? null,
};
