// Instagram's demo data: the demo people and their social graph, loaded into an empty database.
import { count, sql } from 'drizzle-orm';
import { accountEvent, blockEvent, DEMO_PASSWORD, DEMO_PEOPLE, demoId, followEvent, type Db } from '@igt/common';
import { hashPassword } from '../passwords.js';
import { recordRelationshipChange } from '../relationshipOutbox.js';
import * as schema from './schema.js';

const { users, follows, followRequests, blocks, closeFriends, statuses } = schema;

const FOLLOWS: [string, string][] = [
  ['alice', 'bob'],
  ['bob', 'alice'],
  ['alice', 'carol'],
  ['carol', 'alice'],
  ['bob', 'carol'],
  ['dave', 'alice'],
  ['erin', 'alice'],
  ['erin', 'dave'],
  ['frank', 'bob'],
  ['carol', 'erin'],
];
const CLOSE_FRIENDS: [string, string][] = [
  ['alice', 'bob'],
  ['alice', 'carol'],
  ['bob', 'alice'],
];
const BLOCKS: [string, string][] = [['frank', 'dave']];
/** frank's account is private: erin has asked to follow him. */
const FOLLOW_REQUESTS: [string, string][] = [['erin', 'frank']];

/**
 * Loads the demo people and their social graph into an empty database (first start only). Follows and blocks go
 * through the outbox like any other, so Messaging learns them too.
 */
export async function seedDemoData(db: Db<typeof schema>): Promise<boolean> {
  const [existing] = await db.select({ n: count() }).from(users);
  if (existing && existing.n > 0) return false;
  const hashes = await Promise.all(DEMO_PEOPLE.map(() => hashPassword(DEMO_PASSWORD)));
  await db.transaction(async (tx) => {
    await tx.insert(users).values(
      DEMO_PEOPLE.map((person, i) => ({
        ...person,
        passwordHash: hashes[i]!,
        isVerified: person.username === 'alice',
        isPrivate: person.username === 'frank',
        autoStatusEnabled: person.username === 'bob',
      })),
    );
    await tx.execute(
      sql`select setval(pg_get_serial_sequence('instagram.users', 'id'), (select max(id) from instagram.users))`,
    );
    for (const person of DEMO_PEOPLE) await recordRelationshipChange(tx, accountEvent(person.id));
    for (const [follower, followee] of FOLLOWS) {
      const followerId = demoId(follower);
      const followeeId = demoId(followee);
      await tx.insert(follows).values({ followerId, followeeId });
      await recordRelationshipChange(tx, followEvent(followerId, followeeId, true));
    }
    await tx.execute(sql`
      update instagram.users u set
        follower_count = (select count(*) from instagram.follows f where f.followee_id = u.id),
        following_count = (select count(*) from instagram.follows f where f.follower_id = u.id)`);
    for (const [owner, friend] of CLOSE_FRIENDS) {
      await tx.insert(closeFriends).values({ ownerId: demoId(owner), friendId: demoId(friend) });
    }
    for (const [requester, target] of FOLLOW_REQUESTS) {
      await tx.insert(followRequests).values({ requesterId: demoId(requester), targetId: demoId(target) });
    }
    for (const [blocker, blocked] of BLOCKS) {
      await tx.insert(blocks).values({ blockerId: demoId(blocker), blockedId: demoId(blocked) });
      await recordRelationshipChange(tx, blockEvent(demoId(blocker), demoId(blocked), true));
    }
    await tx.insert(statuses).values([
      { userId: demoId('alice'), kind: 'MANUAL', emoji: '🎨', text: 'Glazing pots all afternoon' },
      {
        userId: demoId('bob'),
        kind: 'AUTO',
        emoji: '💼',
        text: 'At work',
        activity: 'AT_WORK',
        expiresAt: sql`now() + interval '4 hours'` as never,
      },
    ]);
  });
  return true;
}
