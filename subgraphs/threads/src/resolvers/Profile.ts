// Resolvers of the Threads Profile type.
import { tryParseId } from '@igt/common';
import type { ProfileResolvers } from '../generated/resolvers-types.js';
import { visibleCount, visibleProfile } from '../hiddenFrom.js';
import { messageActionFor } from '../models.js';
import { ownedThreadPage } from '../threadPages.js';

/**
 * Resolves Profile, a person's Threads presence keyed by their Instagram user id; null to anyone its owner has
 * blocked, by reference too, and its counters leave out whoever blocked the viewer (hiddenFrom.ts).
 */
export const Profile: ProfileResolvers = {
  __resolveReference: (reference, { loaders }) => {
    const id = tryParseId(reference.id);
    return id === null ? null : visibleProfile(loaders, id);
  },
  // Only the key: Instagram resolves the rest of the account through federation.
  user: (profile) => ({ id: String(profile.id) }),
  followerCount: (profile, _args, { loaders }) =>
    visibleCount(profile.followerCount, loaders.hiddenFollowerCount.load(profile.id)),
  followingCount: (profile, _args, { loaders }) =>
    visibleCount(profile.followingCount, loaders.hiddenFollowingCount.load(profile.id)),
  followedByViewer: (profile, _args, { loaders }) => loaders.followedByViewer.load(profile.id),
  threads: (profile, args, { loaders }) =>
    ownedThreadPage(loaders, loaders.threadsByAuthor, 'threads', profile.id, args),
  messageAction: (profile) => messageActionFor(profile.id),
  joinedAt: (profile) => profile.createdAt.toISOString(),
};
