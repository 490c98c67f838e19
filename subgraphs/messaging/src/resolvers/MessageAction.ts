import type { MessageActionResolvers } from '../generated/resolvers-types.js';

/**
 * Messaging's half of the Message button (Threads owns what it is): whether the viewer may use it, batched per
 * query plan by `messageActionByRecipientId`.
 */
export const MessageAction: MessageActionResolvers = {
  __resolveReference: (reference, { loaders }) => loaders.messageActionByRecipientId.load(String(reference.recipient.id)),
  recipient: (action) => ({ id: action.recipientId }),
};
