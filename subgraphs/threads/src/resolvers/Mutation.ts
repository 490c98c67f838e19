// Threads' Mutation resolvers: joining, posting, deleting, liking and following on Threads.
import { and, eq, sql } from 'drizzle-orm';
import {
  badUserInput,
  blockedEitherWay,
  codedError,
  ErrorCode,
  forbidden,
  isUniqueViolation,
  notFound,
  otherParty,
  parseId,
  reload,
  requireViewer,
  sqlState,
  unauthenticated,
} from '@igt/common';
import { blocks, likes, profileFollows, profiles, threads } from '../db/schema.js';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { ProfileModel, ThreadModel } from '../models.js';
import { lockProfiles } from '../profileLocks.js';

/** Longest bio, as on Instagram. */
const MAX_BIO_LENGTH = 150;
/** Longest thread, in characters (code points, so an emoji counts once). */
const MAX_THREAD_LENGTH = 500;

/** SQLSTATE of a foreign-key violation: what we hit when the thread or profile named went away mid-request. */
const FOREIGN_KEY_VIOLATION = '23503';

/** The viewer's own Threads profile; writing on Threads needs one. */
async function requireProfile(context: Context, doing: string): Promise<ProfileModel> {
  const viewerId = requireViewer(context);
  const profile = await context.loaders.profileById.load(viewerId);
  if (!profile) throw forbidden(`You need a Threads profile to ${doing}: call joinThreads first.`);
  return profile;
}

/** Trims and checks a thread's text; returns what is stored. */
function threadText(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw badUserInput('`text` must not be empty or only whitespace.', 'text');
  const length = [...trimmed].length;
  if (length > MAX_THREAD_LENGTH) {
    throw badUserInput(`\`text\` must be at most ${MAX_THREAD_LENGTH} characters, got ${length}.`, 'text');
  }
  return trimmed;
}

async function existingThread(context: Context, id: number, given: string): Promise<ThreadModel> {
  const thread = await context.loaders.threadById.load(id);
  if (!thread) throw notFound(`No thread has id ${given}.`);
  return thread;
}

/**
 * Refuses to act towards someone the viewer has blocked or who has blocked the viewer on Instagram. Catches the blocks
 * projection up first, so a block Instagram has acknowledged is honoured by the very next request.
 */
async function refuseIfBlocked(context: Context, viewerId: number, otherId: number, message: string): Promise<void> {
  if (otherId === viewerId) return;
  await context.catchUpBlocks();
  if (await blockedEitherWay(context.db, blocks, viewerId, otherId)) throw forbidden(message);
}

/** Re-reads a thread after a change (the request's loader may hold the old counters). */
const reloadThread = ({ loaders }: Context, id: number) => reload(loaders.threadById, id, 'thread');

/** Re-reads a profile after a change. */
function reloadProfile({ loaders }: Context, id: number): Promise<ProfileModel> {
  loaders.followedByViewer.clear(id);
  return reload(loaders.profileById, id, 'profile');
}

/** The other profile of a follow mutation: must exist and not be the viewer's own. */
async function otherProfile(
  context: Context,
  id: string,
  verb: string,
): Promise<{ viewerId: number; target: ProfileModel }> {
  const viewerId = requireViewer(context);
  const target = await otherParty(viewerId, id, 'id', context.loaders.profileById, {
    self: `You cannot ${verb} yourself.`,
    missing: `No Threads profile has id ${id}.`,
  });
  return { viewerId, target };
}

/**
 * Threads' mutations: joining with the viewer's Instagram account, posting, deleting, liking and following. Acting
 * towards someone across an Instagram block is refused; likes and follows recheck under the locks a block takes.
 */
export const Mutation: MutationResolvers = {
  async joinThreads(_parent, { bio }, context) {
    const { viewer, viewerId, db } = context;
    if (!viewer || viewerId === null) throw unauthenticated('Sign in with your Instagram account to join Threads.');
    if (bio !== null && bio !== undefined && bio.length > MAX_BIO_LENGTH) {
      throw badUserInput(`\`bio\` must be at most ${MAX_BIO_LENGTH} characters, got ${bio.length}.`, 'bio');
    }
    const profile = { id: viewerId, username: viewer.username, bio: bio?.trim() ?? '' };
    try {
      const insert = db.insert(profiles).values(profile);
      // Joining again is fine: it only updates the bio, and only when one is given.
      await (bio === null || bio === undefined
        ? insert.onConflictDoNothing({ target: profiles.id })
        : insert.onConflictDoUpdate({ target: profiles.id, set: { bio: profile.bio } }));
    } catch (error) {
      // Another profile holds the username: Instagram reassigned it, which Threads cannot settle on its own.
      if (isUniqueViolation(error)) {
        throw codedError(ErrorCode.Conflict, `Another Threads profile already uses the username "${viewer.username}".`);
      }
      throw error;
    }
    return reloadProfile(context, viewerId);
  },

  async postThread(_parent, { text, replyToId }, context) {
    const body = threadText(text);
    const parentId = replyToId === null || replyToId === undefined ? null : parseId(replyToId, 'replyToId');
    const author = await requireProfile(context, 'post');
    if (parentId !== null) {
      const parent = await existingThread(context, parentId, String(replyToId));
      await refuseIfBlocked(context, author.id, parent.authorId, 'You cannot reply to this thread.');
    }
    try {
      const thread = await context.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(threads)
          .values({ authorId: author.id, text: body, replyToId: parentId, isReply: parentId !== null })
          .returning();
        if (parentId !== null) {
          await tx
            .update(threads)
            .set({ replyCount: sql`${threads.replyCount} + 1` })
            .where(eq(threads.id, parentId));
        }
        return row!;
      });
      if (parentId !== null) context.loaders.threadById.clear(parentId);
      context.loaders.threadById.prime(thread.id, thread);
      return thread;
    } catch (error) {
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) throw notFound(`No thread has id ${String(replyToId)}.`);
      throw error;
    }
  },

  async deleteThread(_parent, { id }, context) {
    const viewerId = requireViewer(context);
    const threadId = parseId(id, 'id');
    const thread = await existingThread(context, threadId, id);
    if (thread.authorId !== viewerId) throw forbidden('You can only delete your own threads.');
    await context.db.transaction(async (tx) => {
      // Likes go with it (cascade); replies stay, detached (set null).
      const [deleted] = await tx
        .delete(threads)
        .where(and(eq(threads.id, threadId), eq(threads.authorId, viewerId)))
        .returning({ replyToId: threads.replyToId });
      if (deleted?.replyToId !== null && deleted?.replyToId !== undefined) {
        await tx
          .update(threads)
          .set({ replyCount: sql`${threads.replyCount} - 1` })
          .where(eq(threads.id, deleted.replyToId));
      }
    });
    context.loaders.threadById.clear(threadId);
    if (thread.replyToId !== null) context.loaders.threadById.clear(thread.replyToId);
    return String(threadId);
  },

  async likeThread(_parent, { id }, context) {
    const threadId = parseId(id, 'id');
    const profile = await requireProfile(context, 'like threads');
    const thread = await existingThread(context, threadId, id);
    await context.catchUpBlocks();
    try {
      await context.db.transaction(async (tx) => {
        // Checked under the locks a block takes to remove likes: a block landing now either is seen here or removes
        // this like right after.
        if (thread.authorId !== profile.id) {
          await lockProfiles(tx, [profile.id, thread.authorId]);
          if (await blockedEitherWay(tx, blocks, profile.id, thread.authorId))
            throw forbidden('You cannot like this thread.');
        }
        const inserted = await tx
          .insert(likes)
          .values({ threadId, profileId: profile.id })
          .onConflictDoNothing()
          .returning({ threadId: likes.threadId });
        if (!inserted.length) return;
        await tx
          .update(threads)
          .set({ likeCount: sql`${threads.likeCount} + 1` })
          .where(eq(threads.id, threadId));
      });
    } catch (error) {
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) throw notFound(`No thread has id ${id}.`);
      throw error;
    }
    context.loaders.likedByViewer.clear(threadId);
    return reloadThread(context, threadId);
  },

  async unlikeThread(_parent, { id }, context) {
    const viewerId = requireViewer(context);
    const threadId = parseId(id, 'id');
    await existingThread(context, threadId, id);
    await context.db.transaction(async (tx) => {
      const removed = await tx
        .delete(likes)
        .where(and(eq(likes.threadId, threadId), eq(likes.profileId, viewerId)))
        .returning({ threadId: likes.threadId });
      if (!removed.length) return;
      await tx
        .update(threads)
        .set({ likeCount: sql`${threads.likeCount} - 1` })
        .where(eq(threads.id, threadId));
    });
    context.loaders.likedByViewer.clear(threadId);
    return reloadThread(context, threadId);
  },

  async followProfile(_parent, { id }, context) {
    const { viewerId, target } = await otherProfile(context, id, 'follow');
    await requireProfile(context, 'follow profiles');
    await context.catchUpBlocks();
    await context.db.transaction(async (tx) => {
      // Checked under the lock that applying a block also takes, so a block landing now either is seen here or
      // removes this follow right after.
      await lockProfiles(tx, [viewerId, target.id]);
      if (await blockedEitherWay(tx, blocks, viewerId, target.id)) throw forbidden('You cannot follow this person.');
      const inserted = await tx
        .insert(profileFollows)
        .values({ followerId: viewerId, followeeId: target.id })
        .onConflictDoNothing()
        .returning({ followerId: profileFollows.followerId });
      if (!inserted.length) return;
      await tx
        .update(profiles)
        .set({ followingCount: sql`${profiles.followingCount} + 1` })
        .where(eq(profiles.id, viewerId));
      await tx
        .update(profiles)
        .set({ followerCount: sql`${profiles.followerCount} + 1` })
        .where(eq(profiles.id, target.id));
    });
    context.loaders.profileById.clear(viewerId);
    return reloadProfile(context, target.id);
  },

  async unfollowProfile(_parent, { id }, context) {
    const { viewerId, target } = await otherProfile(context, id, 'unfollow');
    await context.db.transaction(async (tx) => {
      // The same locks, in the same order, as following: concurrent follows and unfollows of a pair cannot deadlock.
      await lockProfiles(tx, [viewerId, target.id]);
      const removed = await tx
        .delete(profileFollows)
        .where(and(eq(profileFollows.followerId, viewerId), eq(profileFollows.followeeId, target.id)))
        .returning({ followerId: profileFollows.followerId });
      if (!removed.length) return;
      await tx
        .update(profiles)
        .set({ followingCount: sql`${profiles.followingCount} - 1` })
        .where(eq(profiles.id, viewerId));
      await tx
        .update(profiles)
        .set({ followerCount: sql`${profiles.followerCount} - 1` })
        .where(eq(profiles.id, target.id));
    });
    context.loaders.profileById.clear(viewerId);
    return reloadProfile(context, target.id);
  },
};
