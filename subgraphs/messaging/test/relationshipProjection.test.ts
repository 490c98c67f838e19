/** Messaging's relationship projection: follows, blocks and accounts applied from the stream, replay-safe. */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockEvent,
  createLogger,
  createMemoryEventStream,
  followEvent,
  openSqlClient,
  RELATIONSHIPS_CONSUMERS,
  RELATIONSHIPS_STREAM,
  type Db,
  type EventStream,
  type SqlClient,
} from '@igt/common';
import * as schema from '../src/db/schema.js';
import { createRelationshipProjection } from '../src/relationshipProjection.js';

let sql: SqlClient;
let db: Db<typeof schema>;
const logger = createLogger('messaging-test', 'silent');

beforeAll(async () => {
  sql = await openSqlClient({});
  await sql.migrate({ migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)), service: 'messaging' });
  db = sql.db(schema);
});

afterAll(async () => {
  await sql?.close();
});

async function state() {
  const [followRows, blockRows, known, positions] = await Promise.all([
    db.select().from(schema.follows),
    db.select().from(schema.blocks),
    db.select().from(schema.knownUsers),
    db.select().from(schema.streamPositions),
  ]);
  return {
    follows: followRows.map((r) => `${r.followerId}->${r.followeeId}`).sort(),
    blocks: blockRows.map((r) => `${r.blockerId}-x-${r.blockedId}`).sort(),
    known: known.map((r) => r.userId).sort((a, b) => a - b),
    position: positions[0]?.position ?? null,
  };
}

describe("Messaging's relationship projection", () => {
  it('should apply the stream in batches, last state per pair winning, and record its position', async () => {
    const events = createMemoryEventStream();
    for (const event of [
      followEvent(11, 12, true),
      followEvent(12, 11, true),
      blockEvent(13, 11, true),
      followEvent(11, 12, false),
      followEvent(11, 12, true),
      blockEvent(13, 11, false),
      blockEvent(14, 11, true),
    ]) {
      await events.append(RELATIONSHIPS_STREAM, event);
    }
    const last = await events.append(RELATIONSHIPS_STREAM, followEvent(12, 11, false));
    await createRelationshipProjection(db, events, logger, { batchSize: 3 }).catchUp();
    expect(await state()).toEqual({
      follows: ['11->12'],
      blocks: ['14-x-11'],
      known: [11, 12, 13, 14],
      position: last,
    });
  });

  it('should read a stale position (another process’s in-memory stream) from the start, harmlessly', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // a new epoch
    const events = createMemoryEventStream();
    await events.append(RELATIONSHIPS_STREAM, followEvent(11, 12, true));
    const last = await events.append(RELATIONSHIPS_STREAM, followEvent(15, 11, true));
    const projection = createRelationshipProjection(db, events, logger);
    await projection.catchUp();
    expect(await state()).toMatchObject({ follows: ['11->12', '15->11'], blocks: ['14-x-11'], position: last });

    // Caught up: nothing changes until something new is appended, which the very next catch-up applies.
    await projection.catchUp();
    const next = await events.append(RELATIONSHIPS_STREAM, blockEvent(11, 15, true));
    await projection.catchUp();
    expect(await state()).toMatchObject({ blocks: ['11-x-15', '14-x-11'], position: next });
  });

  it('should catch up an instance whose last look at the stream another instance has moved past and trimmed', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // a new epoch
    const events = createMemoryEventStream();
    const [one, two] = [
      createRelationshipProjection(db, events, logger),
      createRelationshipProjection(db, events, logger),
    ];
    await events.append(RELATIONSHIPS_STREAM, followEvent(16, 17, true));
    await one.catchUp();
    await two.catchUp();
    const last = await events.append(RELATIONSHIPS_STREAM, blockEvent(17, 16, true));
    await one.catchUp();
    await events.acknowledge(RELATIONSHIPS_STREAM, 'threads', last, RELATIONSHIPS_CONSUMERS);
    expect(await events.length(RELATIONSHIPS_STREAM)).toBe(0);

    // Only `two`'s own memory of the position is behind the trim; the stored position is not.
    await two.catchUp();
    const after = await state();
    expect(after.blocks).toContain('17-x-16');
    expect(after.position).toBe(last);
  });

  it('should refuse with SERVICE_UNAVAILABLE, changing nothing, while the stream cannot be read', async () => {
    const before = await state();
    const unreachable: EventStream = {
      ...createMemoryEventStream(),
      read: () => Promise.reject(new Error('The client is offline')),
    };
    const projection = createRelationshipProjection(db, unreachable, logger);
    await expect(projection.catchUp()).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(await state()).toEqual(before);
  });
  it('should run one catch-up at a time however many requests ask at once, and still see what each was asked after', async () => {
    let positionLocks = 0;
    const counted = await openSqlClient({
      onQuery: (text) => void (/stream_positions.*for update/.test(text) && (positionLocks += 1)),
    });
    try {
      await counted.migrate({
        migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)),
        service: 'messaging',
      });
      const countedDb = counted.db(schema);
      const events = createMemoryEventStream();
      const projection = createRelationshipProjection(countedDb, events, logger);
      await events.append(RELATIONSHIPS_STREAM, followEvent(21, 22, true));
      const first = Array.from({ length: 20 }, () => projection.catchUp());
      // Published while those run: the callers after it must see it.
      await events.append(RELATIONSHIPS_STREAM, followEvent(22, 21, true));
      const later = Array.from({ length: 20 }, () => projection.catchUp());
      await Promise.all([...first, ...later]);
      expect(positionLocks).toBeLessThanOrEqual(2);
      const follows = (await countedDb.select().from(schema.follows))
        .map((row) => `${row.followerId}->${row.followeeId}`)
        .sort();
      expect(follows).toEqual(['21->22', '22->21']);
    } finally {
      await counted.close();
    }
  });
});
