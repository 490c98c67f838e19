// Instagram's Mutation resolvers: accounts and sign-in, the social graph, profile and status.
import { and, eq, sql } from 'drizzle-orm';
import {
  accountEvent,
  badUserInput,
  codedError,
  ErrorCode,
  isUniqueViolation,
  notFound,
  otherParty,
  reload,
  requireViewer,
  signUserToken,
  unauthenticated,
} from '@igt/common';
import { statuses, users } from '../db/schema.js';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { AuthPayloadModel, UserModel } from '../models.js';
import { dummyHash, hashPassword, verifyPassword } from '../passwords.js';
import { recordRelationshipChange } from '../relationshipOutbox.js';
import * as socialGraph from '../socialGraph.js';
import { ACTIVITY_STATUS, AUTO_STATUS_TTL_MS, parseManualStatus } from '../status.js';

const USERNAME = /^[a-z0-9._]{3,30}$/;

/** Re-reads a user after a change (the request's loader may hold the old row). */
const reloadUser = ({ loaders }: Context, id: number) => reload(loaders.userById, id, 'user');

/** The other person of a relationship mutation: must exist and not be the viewer. */
async function otherPerson(
  context: Context,
  userId: string,
  verb: string,
): Promise<{ viewerId: number; target: UserModel }> {
  const viewerId = requireViewer(context);
  const missing = `No user has id ${userId}.`;
  const target = await otherParty(viewerId, userId, 'userId', context.loaders.userById, {
    self: `You cannot ${verb} yourself.`,
    missing,
  });
  // Someone who blocked the viewer does not exist for them (hiddenFrom.ts): acting on them is acting on no one, and
  // answering with their account would show what every read hides.
  if (await context.loaders.hasBlockedViewer.load(target.id)) throw notFound(missing);
  return { viewerId, target };
}

/**
 * The username (trimmed, lower-cased) as every account has it, or BAD_USER_INPUT; the same for a password's length.
 * A new password must be 8 characters or more; a guess may be shorter (it is simply wrong), never longer than any.
 */
function credentials(
  { username, password }: { username: string; password: string },
  purpose: 'new' | 'guess',
): { username: string } {
  const normalized = username.trim().toLowerCase();
  if (!USERNAME.test(normalized))
    throw badUserInput('`username` must be 3–30 letters, digits, dots or underscores.', 'username');
  if ((purpose === 'new' && password.length < 8) || password.length > 128)
    throw badUserInput('`password` must be 8–128 characters.', 'password');
  return { username: normalized };
}

async function issueToken(context: Context, user: UserModel): Promise<AuthPayloadModel> {
  const { jwtSecret, jwtTtlSeconds } = context.auth;
  const token = await signUserToken({ id: String(user.id), username: user.username }, jwtSecret, jwtTtlSeconds);
  return { token, expiresAt: new Date(Date.now() + jwtTtlSeconds * 1000).toISOString(), user };
}

/**
 * Instagram's mutations: accounts and sign-in, follows, blocks, close friends, profile and status. The social graph's
 * rules live in socialGraph.ts; a relationship change is recorded in the transaction that makes it, then flushed to
 * the stream Threads and Messaging project from.
 */
export const Mutation: MutationResolvers = {
  async signUp(_parent, args, context) {
    const { username } = credentials(args, 'new');
    const fullName = args.fullName.trim();
    if (!fullName || fullName.length > 64) throw badUserInput('`fullName` must be 1–64 characters.', 'fullName');
    await context.loginThrottle.admitSignUp(context.clientAddress);
    const passwordHash = await hashPassword(args.password);
    try {
      const user = await context.db.transaction(async (tx) => {
        const [created] = await tx.insert(users).values({ username, fullName, passwordHash }).returning();
        // Messaging learns that the account exists (and so can receive messages) from the relationships stream.
        await recordRelationshipChange(tx, accountEvent(created!.id));
        return created!;
      });
      await context.relationshipPublisher.flush();
      return issueToken(context, user);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw codedError(ErrorCode.UsernameTaken, `The username "${username}" is taken.`, { argument: 'username' });
      }
      throw error;
    }
  },

  async login(_parent, args, context) {
    // No account can have a username or password outside these bounds: refused before anything is counted or hashed.
    const { username } = credentials(args, 'guess');
    // Counted before the password is checked, so parallel guesses cannot outrun the limits.
    const attempt = await context.loginThrottle.admitSignIn(username, context.clientAddress);
    const [user] = await context.db.select().from(users).where(eq(users.username, username)).limit(1);
    // Hash either way, so response time does not reveal whether the username exists.
    const valid = await verifyPassword(args.password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !valid) throw unauthenticated('Wrong username or password.');
    await attempt.succeeded();
    return issueToken(context, user);
  },

  async follow(_parent, { userId }, context) {
    const { viewerId, target } = await otherPerson(context, userId, 'follow');
    await socialGraph.follow(context, viewerId, target.id);
    return reloadUser(context, target.id);
  },

  async unfollow(_parent, { userId }, context) {
    const { viewerId, target } = await otherPerson(context, userId, 'unfollow');
    await socialGraph.unfollow(context, viewerId, target.id);
    return reloadUser(context, target.id);
  },

  async approveFollowRequest(_parent, { userId }, context) {
    const { viewerId, target } = await otherPerson(context, userId, 'approve');
    await socialGraph.approveFollowRequest(context, viewerId, target.id);
    return reloadUser(context, target.id);
  },

  async declineFollowRequest(_parent, { userId }, context) {
    const { viewerId, target } = await otherPerson(context, userId, 'decline');
    await socialGraph.declineFollowRequest(context, viewerId, target.id);
    return reloadUser(context, target.id);
  },

  async block(_parent, { userId }, context) {
    const { viewerId, target } = await otherPerson(context, userId, 'block');
    await socialGraph.block(context, viewerId, target.id);
    return reloadUser(context, target.id);
  },

  async unblock(_parent, { userId }, context) {
    const { viewerId, target } = await otherPerson(context, userId, 'unblock');
    await socialGraph.unblock(context, viewerId, target.id);
    return reloadUser(context, target.id);
  },

  async setCloseFriend(_parent, { userId, closeFriend }, context) {
    const { viewerId, target } = await otherPerson(context, userId, 'add to close friends');
    await socialGraph.setCloseFriend(context, viewerId, target.id, closeFriend);
    return reloadUser(context, target.id);
  },

  async updateProfile(_parent, { input }, context) {
    const viewerId = requireViewer(context);
    const changes: Partial<typeof users.$inferInsert> = {};
    if (input.fullName !== undefined && input.fullName !== null) {
      const fullName = input.fullName.trim();
      if (!fullName || fullName.length > 64)
        throw badUserInput('`fullName` must be 1–64 characters.', 'input.fullName');
      changes.fullName = fullName;
    }
    if (input.bio !== undefined && input.bio !== null) {
      if (input.bio.length > 150) throw badUserInput('`bio` must be at most 150 characters.', 'input.bio');
      changes.bio = input.bio.trim();
    }
    if (input.avatarUrl !== undefined) {
      if (input.avatarUrl !== null && !/^https:\/\/\S{1,2000}$/.test(input.avatarUrl)) {
        throw badUserInput('`avatarUrl` must be an https URL.', 'input.avatarUrl');
      }
      changes.avatarUrl = input.avatarUrl;
    }
    if (input.isPrivate !== undefined && input.isPrivate !== null) changes.isPrivate = input.isPrivate;
    if (!Object.keys(changes).length) return reloadUser(context, viewerId);
    await context.db.transaction(async (tx) => {
      await tx.update(users).set(changes).where(eq(users.id, viewerId));
      if (changes.isPrivate === false) await socialGraph.approvePendingFollowRequests(tx, viewerId);
    });
    await context.relationshipPublisher.flush();
    return reloadUser(context, viewerId);
  },

  async setStatus(_parent, { input }, context) {
    const viewerId = requireViewer(context);
    const status = parseManualStatus(input, new Date());
    await context.db
      .insert(statuses)
      .values({ userId: viewerId, ...status })
      .onConflictDoUpdate({ target: statuses.userId, set: status });
    return reloadUser(context, viewerId);
  },

  async clearStatus(_parent, _args, context) {
    const viewerId = requireViewer(context);
    await context.db.delete(statuses).where(eq(statuses.userId, viewerId));
    return reloadUser(context, viewerId);
  },

  async setAutoStatus(_parent, { enabled }, context) {
    const viewerId = requireViewer(context);
    await context.db.transaction(async (tx) => {
      await tx.update(users).set({ autoStatusEnabled: enabled }).where(eq(users.id, viewerId));
      if (!enabled) await tx.delete(statuses).where(and(eq(statuses.userId, viewerId), eq(statuses.kind, 'AUTO')));
    });
    return reloadUser(context, viewerId);
  },

  async reportActivity(_parent, { activity }, context) {
    const viewerId = requireViewer(context);
    const viewer = await reloadUser(context, viewerId);
    if (!viewer.autoStatusEnabled) {
      throw badUserInput('Auto-status is off; turn it on with setAutoStatus(enabled: true) first.', 'activity');
    }
    const now = new Date();
    const auto = {
      kind: 'AUTO' as const,
      ...ACTIVITY_STATUS[activity],
      activity,
      setAt: now,
      expiresAt: new Date(now.getTime() + AUTO_STATUS_TTL_MS),
    };
    // A manual status that has not expired wins over auto-status.
    await context.db
      .insert(statuses)
      .values({ userId: viewerId, ...auto })
      .onConflictDoUpdate({
        target: statuses.userId,
        set: auto,
        setWhere: sql`${statuses.kind} = 'AUTO' or (${statuses.expiresAt} is not null and ${statuses.expiresAt} <= now())`,
      });
    context.loaders.statusByUserId.clear(viewerId);
    return viewer;
  },
};
