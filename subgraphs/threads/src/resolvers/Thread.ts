// Resolvers of the Threads Thread type: posts and replies.
import { tryParseId } from '@igt/common';
import type { ThreadResolvers } from '../generated/resolvers-types.js';
import { visibleCount, visibleThread } from '../hiddenFrom.js';
import { ownedThreadPage } from '../threadPages.js';

/**
 * Resolves Thread, owned by Threads. A thread whose author has blocked the viewer is null, whether reached by
 * reference or as `replyTo` (hiddenFrom.ts).
 */
export const Thread: ThreadResolvers = {
  __resolveReference: (reference, { loaders }) => {
    const id = tryParseId(reference.id);
    return id === null ? null : visibleThread(loaders, id);
  },
  async author(thread, _args, { loaders }) {
    const author = await loaders.profileById.load(thread.authorId);
    // The foreign key makes this unreachable; if it ever happens it is our bug, reported as an internal error.
    if (!author) throw new Error(`thread ${thread.id} has no author profile ${thread.authorId}`);
    return author;
  },
  // Null too when the parent's author blocked the viewer: the reply stays visible, the thread it answers does not.
  replyTo: (thread, _args, { loaders }) =>
    thread.replyToId === null ? null : visibleThread(loaders, thread.replyToId),
  replies: (thread, args, { loaders }) => ownedThreadPage(loaders, loaders.repliesByThread, 'replies', thread.id, args),
  // Counts what `replies` lists: replies by someone who blocked the viewer are left out of both.
  replyCount: (thread, _args, { loaders }) => visibleCount(thread.replyCount, loaders.hiddenReplyCount.load(thread.id)),
  viewerHasLiked: (thread, _args, { loaders }) => loaders.likedByViewer.load(thread.id),
  createdAt: (thread) => thread.createdAt.toISOString(),
};
