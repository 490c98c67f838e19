import type { MessageActionResolvers } from '../generated/resolvers-types.js';

export const MessageAction: MessageActionResolvers = {
  __resolveReference: (reference, { loaders }) => loaders.messageActionByRecipientId.load(String(reference.recipient.id)),
  recipient: (action) => ({ id: action.recipientId }),
};
