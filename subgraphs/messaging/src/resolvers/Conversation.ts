// Resolvers of Messaging's Conversation type, as the viewer's side of it.
import { decodeIdCursor, encodeCursor, pageSize, tryParseId } from '@igt/common';
import type { ConversationResolvers } from '../generated/resolvers-types.js';
import { lastVisibleMessage, visibleParticipants } from '../hiddenFrom.js';
import type { MessageConnectionModel } from '../models.js';

/**
 * Resolves Conversation, owned by Messaging, as the viewer's side of it: folder, unread count and last message
 * are per person. One the viewer is not in loads as null, by reference too. Someone who has blocked the viewer is
 * hidden in it (hiddenFrom.ts): not a participant, and their messages are left out.
 */
export const Conversation: ConversationResolvers = {
  __resolveReference: (reference, { loaders }) => {
    const id = tryParseId(reference.id);
    return id === null ? null : loaders.conversationById.load(id);
  },
  inbox: () => 'INSTAGRAM',
  kind: (conversation) => conversation.kind,
  title: (conversation) => conversation.title,
  admin: (conversation) => (conversation.adminId === null ? null : { id: String(conversation.adminId) }),
  viewerIsMember: (conversation) => conversation.side.leftAt === null,
  folder: (conversation) => conversation.side.folder,
  // Both people are on the conversation row itself; whether the other one is hidden is one batched lookup per page.
  participants: (conversation, _args, { loaders }) => visibleParticipants(conversation, loaders),

  async messages(conversation, args, { loaders }): Promise<MessageConnectionModel> {
    const size = pageSize(args.last, 'last');
    const before = decodeIdCursor('message', args.before, 'before');
    const newestFirst = await loaders.messagePage.load({ conversationId: conversation.id, size, before });
    const page = newestFirst.slice(0, size).reverse();
    for (const message of page) loaders.messageById.prime(message.id, message);
    const edges = page.map((node) => ({ cursor: encodeCursor('message', String(node.id)), node }));
    return {
      edges,
      pageInfo: {
        hasPreviousPage: newestFirst.length > size,
        // `before` came from a message of this conversation, and messages are never deleted: newer ones exist.
        hasNextPage: before !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  },

  lastMessage: (conversation, _args, { loaders }) => lastVisibleMessage(conversation, loaders),
  unreadCount: (conversation, _args, { loaders }) => loaders.unreadCountByConversationId.load(conversation.id),
  async lastActivityAt(conversation, _args, { loaders }) {
    const last = await lastVisibleMessage(conversation, loaders);
    return (last?.sentAt ?? conversation.createdAt).toISOString();
  },
};
