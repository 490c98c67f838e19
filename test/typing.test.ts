// Typing indicators through the gateway: setTyping, typingIndicators, who receives them, expiry, limits, no storage.
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessagingSubgraph } from '@igt/messaging';
import { BLOCK, SEND_DM } from './support/documents.js';
import { mutualPair } from './support/dms.js';
import {
  expectError,
  ok,
  startStack,
  subscribe,
  type Subscription,
  type TestStack,
  type TestUser,
} from './support/harness.js';

/** Long enough that no indicator expires while a test is still acting on it, short enough to wait for. */
const TTL_MS = 1_500;
/** setTyping calls one account may make in this file: more than any test but the rate limit's makes. */
const TYPING_POINTS = 5;

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({
    typingTtlMs: TTL_MS,
    limits: { typing: { perAccount: { points: TYPING_POINTS, durationSeconds: 3600 } } },
  });
});

afterEach(async () => {
  await stack.closeClients();
  await stack.liveSubscriptions(0);
});

afterAll(async () => {
  await stack?.close();
});

const SET_TYPING = `#graphql
  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {
    setTyping(conversationId: $conversationId, typing: $typing)
  }`;

const TYPING_INDICATORS = `#graphql
  subscription Typing {
    typingIndicators { typing expiresAt user { id username } conversation { id } }
  }`;

interface Indicator {
  typing: boolean;
  expiresAt: string | null;
  user: { id: string; username: string };
  conversation: { id: string };
}

type Indicators = Subscription<{ typingIndicators: Indicator }>;

/** The conversation `from` opens by sending `to` a message; its id. */
async function conversationOf(from: TestUser, to: TestUser): Promise<string> {
  const result = await stack.query(SEND_DM, { input: { recipientId: to.id, text: 'hi' } }, { token: from.token });
  return ok(result).sendDirectMessage.conversation.id as string;
}

const setTyping = (user: TestUser | undefined, conversationId: string, typing = true) =>
  stack.query<{ setTyping: boolean }>(SET_TYPING, { conversationId, typing }, { token: user?.token });

/** Subscribes each of `users` to typingIndicators and resolves once every stream listens. */
async function subscribed(...users: TestUser[]): Promise<Indicators[]> {
  const streams = users.map((user) =>
    subscribe<{ typingIndicators: Indicator }>(stack.wsClient(user.token), TYPING_INDICATORS),
  );
  await stack.liveSubscriptions(users.length);
  return streams;
}

/** What `stream` has received so far, as (who, typing) pairs in order. */
const received = (stream: Indicators) =>
  stream.events.map(({ typingIndicators: { user, typing } }) => `${user.username}:${typing}`);

describe('setTyping and typingIndicators', () => {
  it("should pass alice's typing on to bob, with her account resolved by Instagram, and never back to her", async () => {
    const [alice, bob] = await mutualPair(stack);
    const conversationId = await conversationOf(alice, bob);
    const [toAlice, toBob] = await subscribed(alice, bob);

    const before = Date.now();
    expect(ok(await setTyping(alice, conversationId)).setTyping).toBe(true);
    const [first] = await toBob!.waitFor(1);
    expect(first!.typingIndicators).toMatchObject({
      typing: true,
      user: { id: alice.id, username: alice.username },
      conversation: { id: conversationId },
    });
    expect(Date.parse(first!.typingIndicators.expiresAt!)).toBeGreaterThan(before);

    // Bob answers: the first thing alice's stream carries is his indicator, so her own never reached it.
    ok(await setTyping(bob, conversationId));
    await toAlice!.waitFor(1);
    expect(received(toAlice!)[0]).toBe(`${bob.username}:true`);
    expect(received(toAlice!)).not.toContain(`${alice.username}:true`);
  });

  it('should answer NOT_FOUND to someone outside the conversation, as for none at all, and pass nothing on', async () => {
    const [alice, bob] = await mutualPair(stack);
    const carol = await stack.signUp('carol');
    const theirs = await conversationOf(alice, bob);
    const carolsWithAlice = await conversationOf(alice, carol);
    const [toBob, toCarol] = await subscribed(bob, carol);

    const outsider = await setTyping(carol, theirs);
    expectError(outsider, 'NOT_FOUND');
    const missing = await setTyping(carol, '999999999');
    expectError(missing, 'NOT_FOUND');
    expect(outsider.errors![0]!.message).toBe(missing.errors![0]!.message.replace('999999999', theirs));
    expectError(await setTyping(alice, 'not-an-id'), 'BAD_USER_INPUT');

    // Alice types to bob, then to carol: each stream's first indicator is the one meant for it.
    ok(await setTyping(alice, theirs));
    ok(await setTyping(alice, carolsWithAlice));
    await Promise.all([toBob!.waitFor(1), toCarol!.waitFor(1)]);
    expect(toBob!.events[0]!.typingIndicators.conversation.id).toBe(theirs);
    expect(toCarol!.events[0]!.typingIndicators.conversation.id).toBe(carolsWithAlice);
    // Nothing carol tried reached bob.
    expect(received(toBob!)).not.toContain(`${carol.username}:true`);
  });

  it('should refuse anonymous visitors with UNAUTHENTICATED', async () => {
    const [alice, bob] = await mutualPair(stack);
    expectError(await setTyping(undefined, await conversationOf(alice, bob)), 'UNAUTHENTICATED');
    const anonymous = subscribe(stack.wsClient(), TYPING_INDICATORS);
    await anonymous.ended();
    expect(anonymous.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('should treat a member who left as outside the conversation: NOT_FOUND, and nothing reaches them', async () => {
    const [alice, bob] = await mutualPair(stack);
    const dave = await stack.signUp('dave');
    const conversationId = await conversationOf(alice, bob);
    const daveWithBob = await conversationOf(dave, bob);
    // Leaving is group logic; a direct conversation with bob's side marked as left stands in for it.
    await stack.shared.sql
      .db({})
      .execute(
        sql`update messaging.participants set left_at = now() where conversation_id = ${conversationId} and user_id = ${bob.id}`,
      );
    const [toBob] = await subscribed(bob);

    expectError(await setTyping(bob, conversationId), 'NOT_FOUND');
    ok(await setTyping(alice, conversationId));
    ok(await setTyping(dave, daveWithBob));
    await toBob!.waitFor(1);
    expect(received(toBob!)[0]).toBe(`${dave.username}:true`);
    expect(received(toBob!)).not.toContain(`${alice.username}:true`);
  });

  it('should pass nothing on between two people once either has blocked the other', async () => {
    const [alice, bob] = await mutualPair(stack);
    const dave = await stack.signUp('dave');
    const aliceWithBob = await conversationOf(alice, bob);
    const daveWithBob = await conversationOf(dave, bob);
    const daveWithAlice = await conversationOf(dave, alice);
    ok(await stack.query(BLOCK, { userId: alice.id }, { token: bob.token }));
    const [toAlice, toBob] = await subscribed(alice, bob);

    // Neither side learns of the block from the answer.
    expect(ok(await setTyping(alice, aliceWithBob)).setTyping).toBe(true);
    expect(ok(await setTyping(bob, aliceWithBob)).setTyping).toBe(true);
    ok(await setTyping(dave, daveWithBob));
    ok(await setTyping(dave, daveWithAlice));
    await Promise.all([toAlice!.waitFor(1), toBob!.waitFor(1)]);
    // Dave typed last, yet his indicators are the first each of them received.
    expect(received(toAlice!)[0]).toBe(`${dave.username}:true`);
    expect(received(toBob!)[0]).toBe(`${dave.username}:true`);
    expect(received(toAlice!)).not.toContain(`${bob.username}:true`);
    expect(received(toBob!)).not.toContain(`${alice.username}:true`);
  });

  it('should follow an indicator that was not renewed with typing: false once it expires', async () => {
    const [alice, bob] = await mutualPair(stack);
    const conversationId = await conversationOf(alice, bob);
    const [toBob] = await subscribed(bob);

    ok(await setTyping(alice, conversationId));
    const [started, expired] = await toBob!.waitFor(2, TTL_MS + 15_000);
    expect(started!.typingIndicators).toMatchObject({ typing: true, user: { username: alice.username } });
    expect(expired!.typingIndicators).toEqual({
      typing: false,
      expiresAt: null,
      user: { id: alice.id, username: alice.username },
      conversation: { id: conversationId },
    });
  });

  it("should pass the typer's typing: false on, and expire nothing after it", async () => {
    const [alice, bob] = await mutualPair(stack);
    const dave = await stack.signUp('dave');
    const aliceWithBob = await conversationOf(alice, bob);
    const daveWithBob = await conversationOf(dave, bob);
    const [toBob] = await subscribed(bob);

    ok(await setTyping(alice, aliceWithBob, true));
    ok(await setTyping(alice, aliceWithBob, false));
    await toBob!.waitFor(2);
    expect(toBob!.events[1]!.typingIndicators).toMatchObject({ typing: false, expiresAt: null });

    // Dave's indicator, started later, expires later than alice's would have: once it has, alice's would have too.
    ok(await setTyping(dave, daveWithBob));
    await eventuallyReceived(toBob!, `${dave.username}:false`);
    const afterDave = received(toBob!).slice(received(toBob!).indexOf(`${dave.username}:true`));
    expect(afterDave).toEqual([`${dave.username}:true`, `${dave.username}:false`]);
  });

  it('should refuse an account past its limit with TOO_MANY_ATTEMPTS', async () => {
    const [alice, bob] = await mutualPair(stack);
    const conversationId = await conversationOf(alice, bob);
    for (let i = 0; i < TYPING_POINTS; i += 1) ok(await setTyping(alice, conversationId, i % 2 === 0));
    const refused = await setTyping(alice, conversationId);
    expectError(refused, 'TOO_MANY_ATTEMPTS');
    expect(refused.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    // The limit is per account: bob still may.
    ok(await setTyping(bob, conversationId));
  });

  it('should store nothing', async () => {
    const [alice, bob] = await mutualPair(stack);
    const conversationId = await conversationOf(alice, bob);
    const [toBob] = await subscribed(bob);
    const before = await messagingRowCounts();

    ok(await setTyping(alice, conversationId, true));
    ok(await setTyping(alice, conversationId, false));
    await toBob!.waitFor(2);
    expect(await messagingRowCounts()).toEqual(before);
  });

  it('should end every typing stream when Messaging stops its background work', async () => {
    const [alice] = await mutualPair(stack);
    const [toAlice] = await subscribed(alice);
    await (stack.subgraphs.messaging as MessagingSubgraph).stopBackgroundWork();
    await toAlice!.ended();
    expect(toAlice!.errors).toEqual([]);
  });
});

/** Resolves once `stream` has received `entry` (a `received` pair). */
async function eventuallyReceived(stream: Indicators, entry: string): Promise<void> {
  while (!received(stream).includes(entry)) await stream.waitFor(stream.events.length + 1, TTL_MS + 15_000);
}

/** How many rows each table of the `messaging` schema holds. */
async function messagingRowCounts(): Promise<Record<string, number>> {
  const db = stack.shared.sql.db({});
  const rows = (query: SQL) =>
    db.execute(query).then((result) => (result as unknown as { rows: Record<string, unknown>[] }).rows);
  const tables = await rows(
    sql`select table_name as name from information_schema.tables where table_schema = 'messaging' order by 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [{ n }] = (await rows(
      sql`select count(*)::int as n from ${sql.identifier('messaging')}.${sql.identifier(String(name))}`,
    )) as [{ n: number }];
    counts[String(name)] = n;
  }
  return counts;
}
