/** Resolvers of Messaging's Message type: a direct message, its conversation, reactions and who has seen it. */
import { tryParseId } from '@igt/common';
import type { MessageResolvers } from '../generated/resolvers-types.js';

/**
 * Resolves Message, owned by Messaging: an unsent one reads as empty text; sender and seenBy are User keys that
 * Instagram resolves.
 */
export const Message: MessageResolvers = {
  __resolveReference: (reference, { loaders }) => {
    const id = tryParseId(reference.id);
    return id === null ? null : loaders.messageById.load(id);
  },
  text: (message) => (message.unsent ? '' : message.text),
  sender: (message) => ({ id: String(message.senderId) }),
  async conversation(message, _args, { loaders }) {
    const conversation = await loaders.conversationById.load(message.conversationId);
    // Every way to reach a message already checked that the viewer is in its conversation.
    if (!conversation) throw new Error(`Message ${message.id} was resolved for someone outside its conversation.`);
    return conversation;
  },
  sentAt: (message) => message.sentAt.toISOString(),
  reactions: (message, _args, { loaders }) => loaders.reactionsByMessageId.load(message.id),
  seenBy: async (message, _args, { loaders }) =>
    (await loaders.seenByMessageId.load(message.id)).map((id) => ({ id: String(id) })),
};
