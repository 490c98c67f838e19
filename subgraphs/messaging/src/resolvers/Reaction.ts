/** Resolvers of Messaging's Reaction type: the emoji one person put on a message. */
import type { ReactionResolvers } from '../generated/resolvers-types.js';

/** Resolves Reaction: who reacted is only a User key; Instagram resolves the rest. */
export const Reaction: ReactionResolvers = {
  user: (reaction) => ({ id: String(reaction.userId) }),
};
