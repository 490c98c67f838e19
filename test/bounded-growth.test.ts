// Bounded growth: the relationships stream, Instagram's outbox and its sign-in failure counts stay small (either back end).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockEvent, RELATIONSHIPS_CONSUMERS, RELATIONSHIPS_STREAM } from '@igt/common';
import { BLOCK, FOLLOW, JOIN_THREADS, LOGIN, SEND_DM, UNBLOCK, UNFOLLOW } from './support/documents.js';
import { expectError, ok, SIGN_UP_PASSWORD, startStack, type TestStack, type TestUser } from './support/harness.js';

/** Many rounds of requests through the whole stack on a busy machine. */
const TRAFFIC_TIMEOUT_MS = 300_000;

/** Asks both consumers to catch up: Threads resolves the profile, Messaging its Message button. */
const PROFILE = `#graphql
  query Profile($username: String!) { profile(username: $username) { messageAction { enabled } } }`;

let stack: TestStack;
let viewer: TestUser;
let other: TestUser;

beforeAll(async () => {
  stack = await startStack({ seed: false });
  [viewer, other] = [await stack.signUp('grow'), await stack.signUp('grow')];
  ok(await stack.query(JOIN_THREADS, {}, { token: other.token }));
});

afterAll(async () => {
  await stack?.close();
});

const as = (user: TestUser, document: string, variables: Record<string, unknown> = {}) =>
  stack.query(document, variables, { token: user.token }).then(ok);

/** Entries the relationships stream holds (XLEN on Redis). */
const streamLength = () => stack.shared.events.length(RELATIONSHIPS_STREAM);

/** Rows in Instagram's outbox. */
async function outboxRows(): Promise<number> {
  const result = await stack.shared.sql.db({}).execute(sql`select count(*)::int as n from instagram.outbox`);
  return (result as unknown as { rows: { n: number }[] }).rows[0]!.n;
}

/** Rows in Instagram's sign-in failure counts. */
async function loginFailureRows(): Promise<number> {
  const result = await stack.shared.sql.db({}).execute(sql`select count(*)::int as n from instagram.login_failures`);
  return (result as unknown as { rows: { n: number }[] }).rows[0]!.n;
}

/** Both consumers read everything published so far. */
const bothRead = () => as(viewer, PROFILE, { username: other.username });

describe('the relationships stream and the outbox under steady traffic', () => {
  it(
    'should stay within a small bound while both consumers read, however many changes go through',
    { timeout: TRAFFIC_TIMEOUT_MS },
    async () => {
      const ROUNDS = 75;
      const toggles = [FOLLOW, UNFOLLOW, BLOCK, UNBLOCK];
      await bothRead();
      let longest = 0;
      let fullestOutbox = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const toggle of toggles) {
          await as(viewer, toggle, { userId: other.id });
          fullestOutbox = Math.max(fullestOutbox, await outboxRows());
        }
        longest = Math.max(longest, await streamLength());
        await bothRead();
        longest = Math.max(longest, await streamLength());
      }
      // 300 changes went through; at most one round's worth was ever waiting, and nothing once both had read.
      expect(longest).toBeGreaterThan(0);
      expect(longest).toBeLessThanOrEqual(toggles.length);
      expect(await streamLength()).toBe(0);
      expect(fullestOutbox).toBe(0);
    },
  );

  it('should keep every entry a consumer has not read: Threads not reading holds trimming back', async () => {
    await bothRead();
    const TOGGLES = 20;
    for (let n = 0; n < TOGGLES; n += 1) {
      await as(viewer, n % 2 ? UNFOLLOW : FOLLOW, { userId: other.id });
      // Only Messaging reads (and acknowledges) here.
      await as(viewer, SEND_DM, { input: { recipientId: other.id, text: `hello ${n}` } });
    }
    expect(await streamLength()).toBe(TOGGLES);
    await bothRead();
    expect(await streamLength()).toBe(0);
  });

  it("should forget sign-in failures whose window is over, whoever's they were, when someone signs in", async () => {
    const guessed = ['never_signs_in_1', 'never_signs_in_2', 'never_signs_in_3'];
    for (const username of guessed) {
      expectError(await stack.query(LOGIN, { username, password: 'wrong password' }), 'UNAUTHENTICATED');
    }
    expect(await loginFailureRows()).toBe(guessed.length);
    // Their window (15 minutes) ends; one fresh failure is still in its window and stays.
    await stack.shared.sql
      .db({})
      .execute(sql`update instagram.login_failures set window_started_at = now() - interval '1 hour'`);
    expectError(
      await stack.query(LOGIN, { username: 'still_counting', password: 'wrong password' }),
      'UNAUTHENTICATED',
    );
    ok(await stack.query(LOGIN, { username: viewer.username, password: SIGN_UP_PASSWORD }));
    expect(await loginFailureRows()).toBe(1);
  });

  // Last: it leaves both projections refusing, as they should.
  it('should refuse, rather than skip, when events a consumer has not applied were trimmed', async () => {
    await bothRead();
    // A block that reached the stream, then was trimmed as if both consumers had applied it (as when a consumer's
    // database comes back from an older backup): neither may go on as if it never happened.
    const { events } = stack.shared;
    const id = await events.append(RELATIONSHIPS_STREAM, blockEvent(Number(other.id), Number(viewer.id), true));
    for (const consumer of RELATIONSHIPS_CONSUMERS) {
      await events.acknowledge(RELATIONSHIPS_STREAM, consumer, id, RELATIONSHIPS_CONSUMERS);
    }
    expect(await streamLength()).toBe(0);
    const send = { input: { recipientId: other.id, text: 'did the block reach you?' } };
    expectError(await stack.query(SEND_DM, send, { token: viewer.token }), 'SERVICE_UNAVAILABLE');
    const profile = await stack.query(PROFILE, { username: other.username }, { token: viewer.token });
    expectError(profile, 'SERVICE_UNAVAILABLE');
  });
});
