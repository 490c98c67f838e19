import type { ReactionResolvers } from '../generated/resolvers-types.js';

export const Reaction: ReactionResolvers = {
  user: (reaction) => ({ id: String(reaction.userId) }),
};
