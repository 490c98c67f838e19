/** Threads' demo data: profiles of the demo people (all but frank), their Threads follows, threads, replies, likes. */
import { count, sql } from 'drizzle-orm';
import { DEMO_PEOPLE, demoId, type Db } from '@igt/common';
import * as schema from './schema.js';

const { profiles, threads, likes, profileFollows } = schema;

// Frank stays off Threads, so the demo shows a person without a Threads profile.
const MEMBERS = DEMO_PEOPLE.filter((person) => person.username !== 'frank');

const FOLLOWS: [string, string][] = [
  ['alice', 'bob'],
  ['alice', 'carol'],
  ['alice', 'erin'],
  ['bob', 'alice'],
  ['bob', 'dave'],
  ['carol', 'alice'],
  ['carol', 'erin'],
  ['dave', 'alice'],
  ['dave', 'bob'],
  ['erin', 'carol'],
];

/** Demo threads in the order they were posted; `replyTo` names an earlier entry by its key. */
const THREADS: { key: string; author: string; text: string; replyTo?: string; likedBy?: string[] }[] = [
  {
    key: 'a1',
    author: 'alice',
    text: 'First firing of the new glaze came out of the kiln. Speckled blue, exactly as hoped.',
    likedBy: ['bob', 'carol', 'erin'],
  },
  {
    key: 'b1',
    author: 'bob',
    text: 'Hot take: most apps need one Postgres, not five databases.',
    likedBy: ['alice', 'dave'],
  },
  { key: 'b1r1', author: 'alice', text: 'And one good index.', replyTo: 'b1', likedBy: ['bob'] },
  {
    key: 'c1',
    author: 'carol',
    text: 'Blue hour over Gamla stan tonight. Worth the cold fingers.',
    likedBy: ['alice', 'erin'],
  },
  {
    key: 'd1',
    author: 'dave',
    text: 'Ran 21 km this morning. My legs have filed a formal complaint.',
    likedBy: ['bob'],
  },
  { key: 'd1r1', author: 'bob', text: 'Did they at least use the proper channels?', replyTo: 'd1', likedBy: ['dave'] },
  {
    key: 'e1',
    author: 'erin',
    text: 'A good empty state is a tiny onboarding. Design yours on purpose.',
    likedBy: ['alice', 'carol'],
  },
  { key: 'a2', author: 'alice', text: 'Coffee number two. Wheel throwing in an hour.', likedBy: ['carol'] },
  { key: 'a2r1', author: 'carol', text: 'Save me a mug from this batch!', replyTo: 'a2', likedBy: ['alice'] },
  { key: 'a2r2', author: 'alice', text: 'Already set one aside for you.', replyTo: 'a2r1' },
  {
    key: 'b2',
    author: 'bob',
    text: 'Cursor pagination keyed on ids: stable pages, no duplicates when new rows arrive.',
    likedBy: ['alice', 'erin'],
  },
  { key: 'c2', author: 'carol', text: 'Film or digital? Both, depending on the light.' },
  {
    key: 'e2',
    author: 'erin',
    text: 'Shipped the new onboarding flow today. Small team, big week.',
    likedBy: ['alice', 'carol', 'bob'],
  },
  { key: 'e2r1', author: 'alice', text: 'Congratulations, it looks lovely.', replyTo: 'e2' },
  {
    key: 'a3',
    author: 'alice',
    text: 'Open studio this Saturday. Come say hi.',
    likedBy: ['bob', 'carol', 'dave', 'erin'],
  },
];

/**
 * Loads Threads profiles for the demo people (all but frank), their Threads follows, and a few threads with replies
 * and likes into an empty database (first start only). Returns whether it did.
 */
export async function seedDemoData(db: Db<typeof schema>): Promise<boolean> {
  const [existing] = await db.select({ n: count() }).from(profiles);
  if (existing && existing.n > 0) return false;
  await db.transaction(async (tx) => {
    await tx.insert(profiles).values(
      MEMBERS.map((person) => ({
        id: person.id,
        username: person.username,
        bio: person.bio,
        createdAt: sql`now() - interval '30 days'` as never,
      })),
    );
    for (const [follower, followee] of FOLLOWS) {
      await tx.insert(profileFollows).values({ followerId: demoId(follower), followeeId: demoId(followee) });
    }
    const ids = new Map<string, number>();
    for (const [i, thread] of THREADS.entries()) {
      // Spread over the last day, oldest first, so ids increase with time as they do for real posts.
      const minutesAgo = (THREADS.length - i) * 90;
      const replyToId = thread.replyTo === undefined ? null : ids.get(thread.replyTo);
      if (replyToId === undefined)
        throw new Error(`seed: reply ${thread.key} names an unknown thread ${thread.replyTo}`);
      const [row] = await tx
        .insert(threads)
        .values({
          authorId: demoId(thread.author),
          text: thread.text,
          replyToId,
          isReply: replyToId !== null,
          createdAt: sql`now() - make_interval(mins => ${minutesAgo})` as never,
        })
        .returning({ id: threads.id });
      ids.set(thread.key, row!.id);
      for (const liker of thread.likedBy ?? []) {
        await tx.insert(likes).values({ threadId: row!.id, profileId: demoId(liker) });
      }
    }
    await tx.execute(sql`
      update threads.profiles p set
        follower_count = (select count(*) from threads.profile_follows f where f.followee_id = p.id),
        following_count = (select count(*) from threads.profile_follows f where f.follower_id = p.id)`);
    await tx.execute(sql`
      update threads.threads t set
        like_count = (select count(*) from threads.likes l where l.thread_id = t.id),
        reply_count = (select count(*) from threads.threads r where r.reply_to_id = t.id)`);
  });
  return true;
}
