// Threads' part of the User type: the person's Threads profile.
import { tryParseId } from '@igt/common';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { visibleProfile } from '../hiddenFrom.js';

/** Threads' part of User (Instagram owns it): `threadsProfile`, null if they never joined or blocked the viewer. */
export const User: UserResolvers = {
  // Threads only knows the key; Instagram owns every other field.
  __resolveReference: (reference) => reference,
  threadsProfile: (user, _args, { loaders }) => {
    const id = tryParseId(user.id);
    return id === null ? null : visibleProfile(loaders, id);
  },
};
