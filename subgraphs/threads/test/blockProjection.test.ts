/** Threads' block projection: blocks applied from the stream, and the follows and likes a block ends. */
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockEvent,
  createLogger,
  createMemoryEventStream,
  openSqlClient,
  RELATIONSHIPS_STREAM,
  type Db,
  type RelationshipEvent,
  type SqlClient,
} from '@igt/common';
import { createBlockProjection } from '../src/blockProjection.js';
import * as schema from '../src/db/schema.js';

let sql: SqlClient;
let db: Db<typeof schema>;
const logger = createLogger('threads-test', 'silent');

beforeAll(async () => {
  sql = await openSqlClient({});
  await sql.migrate({ migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)), service: 'threads' });
  db = sql.db(schema);
  await db.insert(schema.profiles).values([21, 22, 23].map((id) => ({ id, username: `p${id}` })));
  // 21 ⇄ 22 and 23 → 21, with the counters the follow mutations would have left.
  await db.insert(schema.profileFollows).values([
    { followerId: 21, followeeId: 22 },
    { followerId: 22, followeeId: 21 },
    { followerId: 23, followeeId: 21 },
  ]);
  for (const [id, followerCount, followingCount] of [
    [21, 2, 1],
    [22, 1, 1],
    [23, 0, 1],
  ] as const) {
    await db.update(schema.profiles).set({ followerCount, followingCount }).where(eq(schema.profiles.id, id));
  }
});

afterAll(async () => {
  await sql?.close();
});

async function state() {
  const [follows, blocks, profiles, positions] = await Promise.all([
    db.select().from(schema.profileFollows),
    db.select().from(schema.blocks),
    db.select().from(schema.profiles).orderBy(schema.profiles.id),
    db.select().from(schema.streamPositions),
  ]);
  return {
    follows: follows.map((r) => `${r.followerId}->${r.followeeId}`).sort(),
    blocks: blocks.map((r) => `${r.blockerId}-x-${r.blockedId}`).sort(),
    counts: Object.fromEntries(profiles.map((p) => [p.id, [p.followerCount, p.followingCount]])),
    position: positions[0]?.position ?? null,
  };
}

describe("Threads' block projection", () => {
  it('should keep each pair’s last block state and end follows for any pair blocked in the batch, counters included', async () => {
    const events = createMemoryEventStream();
    const entries: RelationshipEvent[] = [
      { kind: 'account', userId: '24' },
      { kind: 'follow', followerId: '21', followeeId: '23', active: true }, // an Instagram follow: not Threads' business
      blockEvent(21, 22, true),
      blockEvent(21, 22, false), // unblocked again in the same batch: the follows stay gone, the block does not stay
      { kind: 'block', blockerId: 'nobody', blockedId: '21', active: true } as RelationshipEvent, // skipped
      blockEvent(24, 23, true), // 24 has no Threads profile: the block is kept for when they join
    ];
    for (const event of entries) await events.append(RELATIONSHIPS_STREAM, event);
    const last = await events.append(RELATIONSHIPS_STREAM, blockEvent(23, 21, true));
    // One batch: 21 ⇄ 22 is ended by the block even though it was lifted later in the same batch.
    await createBlockProjection(db, events, logger).catchUp();
    expect(await state()).toEqual({
      follows: [],
      blocks: ['23-x-21', '24-x-23'],
      counts: { 21: [0, 0], 22: [0, 0], 23: [0, 0] },
      position: last,
    });
  });

  it('should apply a replayed stream (a stale position) harmlessly, then what comes next in batches', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // a new epoch for the in-process stream
    const events = createMemoryEventStream();
    await events.append(RELATIONSHIPS_STREAM, blockEvent(23, 21, true));
    const projection = createBlockProjection(db, events, logger, { batchSize: 2 });
    await projection.catchUp();
    expect(await state()).toMatchObject({
      blocks: ['23-x-21', '24-x-23'],
      counts: { 21: [0, 0], 22: [0, 0], 23: [0, 0] },
    });

    await db.insert(schema.profileFollows).values({ followerId: 21, followeeId: 22 });
    await db.update(schema.profiles).set({ followingCount: 1 }).where(eq(schema.profiles.id, 21));
    await db.update(schema.profiles).set({ followerCount: 1 }).where(eq(schema.profiles.id, 22));
    await events.append(RELATIONSHIPS_STREAM, blockEvent(22, 21, true));
    await events.append(RELATIONSHIPS_STREAM, blockEvent(23, 21, false));
    const latest = await events.append(RELATIONSHIPS_STREAM, blockEvent(24, 23, false));
    await projection.catchUp();
    expect(await state()).toEqual({
      follows: [],
      blocks: ['22-x-21'],
      counts: { 21: [0, 0], 22: [0, 0], 23: [0, 0] },
      position: latest,
    });
  });
});
