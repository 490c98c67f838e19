/** Resolvers of Messaging's TypingIndicator type: one indicator as its subscriber receives it, never stored. */
import type { TypingIndicatorResolvers } from '../generated/resolvers-types.js';

/** Resolves TypingIndicator: the conversation from the subscriber's side, the typer as a User key Instagram resolves. */
export const TypingIndicator: TypingIndicatorResolvers = {
  async conversation(indicator, _args, { loaders }) {
    const conversation = await loaders.conversationById.load(indicator.conversationId);
    // setTyping sends an indicator only to the conversation's members.
    if (!conversation) {
      throw new Error(`A typing indicator in conversation ${indicator.conversationId} reached someone outside it.`);
    }
    return conversation;
  },
  user: (indicator) => ({ id: String(indicator.userId) }),
  expiresAt: (indicator) => indicator.expiresAt?.toISOString() ?? null,
};
