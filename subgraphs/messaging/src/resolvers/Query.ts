// Resolvers of Messaging's root queries: the viewer's inbox by folder, and one conversation by id.
import { and, desc, eq, isNotNull, lt } from 'drizzle-orm';
import { decodeIdCursor, encodeCursor, forwardConnection, pageSize, tryParseId } from '@igt/common';
import { selectViewersConversations, toConversationModel } from '../conversationSides.js';
import { participants } from '../db/schema.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';

/**
 * Messaging's root queries: the viewer's inbox by folder, newest activity first (empty when anonymous), and one
 * conversation by id (null unless the viewer is in it).
 */
export const Query: QueryResolvers = {
  async inbox(_parent, { folder, first, after }, context) {
    const size = pageSize(first);
    // The cursor is the conversation's newest message id: ids only grow, so a page boundary never moves.
    const before = decodeIdCursor('inbox', after);
    // An anonymous visitor has no inbox: an empty one, like the feed, so the rest of their query still answers.
    const { viewerId } = context;
    if (viewerId === null) return forwardConnection([], size, () => '', before !== null);
    await context.knownUsers.remember([viewerId]);
    const rows = await selectViewersConversations(
      context.db,
      viewerId,
      and(
        eq(participants.folder, folder),
        eq(participants.declined, false),
        isNotNull(participants.lastMessageId),
        before === null ? undefined : lt(participants.lastMessageId, before),
      ),
    )
      .orderBy(desc(participants.lastMessageId))
      .limit(size + 1);
    const models = rows.map(toConversationModel);
    for (const model of models) context.loaders.conversationById.prime(model.id, model);
    return forwardConnection(
      models,
      size,
      (model) => encodeCursor('inbox', String(model.side.lastMessageId)),
      before !== null,
    );
  },

  async conversation(_parent, { id }, { viewer, loaders }) {
    const conversationId = tryParseId(id);
    return viewer && conversationId !== null ? loaders.conversationById.load(conversationId) : null;
  },
};
