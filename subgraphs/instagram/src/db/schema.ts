/**
 * Instagram's tables (drizzle): accounts, follows, follow requests, blocks, close friends, statuses, the relationship
 * outbox, and sign-in failures.
 */
import { bigint, boolean, index, integer, jsonb, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Everything the Instagram subgraph stores lives in the `instagram` Postgres schema. */
export const instagram = pgSchema('instagram');

const id = (name = 'id') => bigint(name, { mode: 'number' });
const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

/** Instagram accounts. Follower/following counts are kept in step with `follows` in the same transaction. */
export const users = instagram.table('users', {
  id: id().primaryKey().generatedByDefaultAsIdentity(),
  username: text('username').notNull().unique(),
  fullName: text('full_name').notNull(),
  bio: text('bio').notNull().default(''),
  avatarUrl: text('avatar_url'),
  isPrivate: boolean('is_private').notNull().default(false),
  isVerified: boolean('is_verified').notNull().default(false),
  passwordHash: text('password_hash').notNull(),
  followerCount: integer('follower_count').notNull().default(0),
  followingCount: integer('following_count').notNull().default(0),
  autoStatusEnabled: boolean('auto_status_enabled').notNull().default(false),
  createdAt: createdAt(),
});

/** Who follows whom. `seq` orders the follower and following lists and backs their cursors. */
export const follows = instagram.table(
  'follows',
  {
    followerId: id('follower_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    followeeId: id('followee_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    seq: id('seq').notNull().generatedAlwaysAsIdentity(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.followerId, t.followeeId] }), index('follows_followee_idx').on(t.followeeId, t.seq)],
);

/** Requests to follow a private account, waiting for its owner's answer. `seq` orders the list and backs its cursor. */
export const followRequests = instagram.table(
  'follow_requests',
  {
    requesterId: id('requester_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    targetId: id('target_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    seq: id('seq').notNull().generatedAlwaysAsIdentity(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.requesterId, t.targetId] }),
    index('follow_requests_target_idx').on(t.targetId, t.seq),
  ],
);

/** Who has blocked whom. */
export const blocks = instagram.table(
  'blocks',
  {
    blockerId: id('blocker_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    blockedId: id('blocked_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index('blocks_blocked_idx').on(t.blockedId)],
);

/** Each person's close friends list: `ownerId` has put `friendId` on it. */
export const closeFriends = instagram.table(
  'close_friends',
  {
    ownerId: id('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    friendId: id('friend_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    seq: id('seq').notNull().generatedAlwaysAsIdentity(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.ownerId, t.friendId] }), index('close_friends_friend_idx').on(t.friendId)],
);

/**
 * At most one status per person, manual or automatic. Auto-status keeps only the activity label the app reported:
 * no location is ever stored.
 */
export const statuses = instagram.table('statuses', {
  userId: id('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  kind: text('kind', { enum: ['MANUAL', 'AUTO'] }).notNull(),
  emoji: text('emoji').notNull(),
  text: text('text').notNull(),
  activity: text('activity'),
  setAt: timestamp('set_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
});

/**
 * Relationship changes waiting to be published to the relationships stream (transactional outbox): written in the
 * same transaction as the change, so a committed follow or block is never lost on its way to Messaging. A row is
 * deleted in the transaction that appends it to the stream, so the table holds only what is not published yet.
 */
export const outbox = instagram.table('outbox', {
  id: id().primaryKey().generatedAlwaysAsIdentity(),
  event: jsonb('event').notNull(),
  createdAt: createdAt(),
});

/**
 * Sign-in attempts at one username from one client address in the current window, to stop password guessing. Each
 * attempt is counted before its password is checked (so parallel guesses cannot outrun the count) and a successful
 * sign-in clears the row, so what a row holds is failures and checks in flight. Keyed by address as well, so a stranger
 * guessing cannot lock the owner out. Kept in the database so every instance sees the same count.
 */
export const loginFailures = instagram.table(
  'login_failures',
  {
    username: text('username').notNull(),
    /** The client's address as the rate limits key it (an IPv6 address by its /64). */
    address: text('address').notNull(),
    failures: integer('failures').notNull(),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  // The window index finds the rows whose window is over, which each successful sign-in deletes (loginThrottle.ts).
  (t) => [
    primaryKey({ columns: [t.username, t.address] }),
    index('login_failures_window_started_at_idx').on(t.windowStartedAt),
  ],
);
