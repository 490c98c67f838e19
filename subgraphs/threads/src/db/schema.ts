/** Threads' tables (drizzle): profiles, threads and replies, likes, Threads follows, its copy of Instagram blocks. */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

/** Everything the Threads subgraph stores lives in the `threads` Postgres schema. */
export const threadsSchema = pgSchema('threads');

const id = (name = 'id') => bigint(name, { mode: 'number' });
const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

/**
 * Threads profiles. The id is the owner's Instagram user id (no foreign key: Instagram's tables are not ours), and
 * the username is copied from the gateway-asserted viewer when they join, which is safe because usernames never
 * change. Follower/following counts are kept in step with `profileFollows` in the same transaction.
 */
export const profiles = threadsSchema.table('profiles', {
  id: id().primaryKey(),
  username: text('username').notNull().unique(),
  bio: text('bio').notNull().default(''),
  followerCount: integer('follower_count').notNull().default(0),
  followingCount: integer('following_count').notNull().default(0),
  createdAt: createdAt(),
});

/**
 * Threads and replies. Ids increase with time, so lists are ordered and paged by id. Like and reply counts are kept
 * in step with `likes` and with replies in the same transaction, so a page of threads needs no counting queries.
 */
export const threads = threadsSchema.table(
  'threads',
  {
    id: id().primaryKey().generatedAlwaysAsIdentity(),
    authorId: id('author_id')
      .notNull()
      .references(() => profiles.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    // A deleted thread leaves its replies in place, detached.
    replyToId: id('reply_to_id').references((): AnyPgColumn => threads.id, { onDelete: 'set null' }),
    // Kept apart from replyToId, which a deleted parent clears: a detached reply is still a reply, not a new post.
    isReply: boolean('is_reply').notNull().default(false),
    replyCount: integer('reply_count').notNull().default(0),
    likeCount: integer('like_count').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    // A profile page and the feed both read top-level threads by author, newest first.
    index('threads_author_top_level_idx')
      .on(t.authorId, t.id)
      .where(sql`not ${t.isReply}`),
    index('threads_reply_to_idx').on(t.replyToId, t.id),
  ],
);

/** Who likes which thread. */
export const likes = threadsSchema.table(
  'likes',
  {
    threadId: id('thread_id')
      .notNull()
      .references(() => threads.id, { onDelete: 'cascade' }),
    profileId: id('profile_id')
      .notNull()
      .references(() => profiles.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.threadId, t.profileId] }), index('likes_profile_idx').on(t.profileId)],
);

/** Threads follows (separate from Instagram follows). `seq` orders follower and following lists. */
export const profileFollows = threadsSchema.table(
  'profile_follows',
  {
    followerId: id('follower_id')
      .notNull()
      .references(() => profiles.id, { onDelete: 'cascade' }),
    followeeId: id('followee_id')
      .notNull()
      .references(() => profiles.id, { onDelete: 'cascade' }),
    seq: id('seq').notNull().generatedAlwaysAsIdentity(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.followerId, t.followeeId] }),
    index('profile_follows_followee_idx').on(t.followeeId, t.seq),
  ],
);

/**
 * Projection of Instagram blocks, fed by the relationships stream (never read from Instagram's tables). Either person
 * may have no Threads profile (yet), so there is no foreign key to `profiles`.
 */
export const blocks = threadsSchema.table(
  'blocks',
  {
    blockerId: id('blocker_id').notNull(),
    blockedId: id('blocked_id').notNull(),
  },
  // "Who blocked the viewer" is the read every request makes.
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index('blocks_blocked_idx').on(t.blockedId)],
);

/** How far Threads has applied each stream it consumes; updated in the transaction that applies the entries. */
export const streamPositions = threadsSchema.table('stream_positions', {
  stream: text('stream').primaryKey(),
  position: text('position'),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
