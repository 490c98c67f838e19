// Resolvers of MessageAction: Messaging's part of the Message button on a Threads profile.
import type { MessageActionResolvers } from '../generated/resolvers-types.js';

/**
 * Messaging's half of the Message button (Threads owns what it is): whether the viewer may use it (canMessage.ts),
 * batched per query plan by the request's `messageButtons`.
 */
export const MessageAction: MessageActionResolvers = {
  __resolveReference: (reference, { messageButtons }) => messageButtons.load(String(reference.recipient.id)),
  recipient: (action) => ({ id: action.recipientId }),
};
