/**
 * The whole stack while its Redis goes away and comes back (a Redis of this file's own, so the shared one stays up):
 * what must honour the latest blocks fails with a coded error and stores nothing, the rest keeps working, and a live
 * subscription carries on once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, hasRedisServer, startRedisServer, type RedisServer } from './support/scratch.js';
import { eventually, expectError, ok, startStack, subscribe, type TestStack } from './support/harness.js';

describe.skipIf(!hasRedisServer)('Redis going away and coming back', () => {
  let port: number;
  let redis: RedisServer | undefined;
  let stack: TestStack;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer(port);
    stack = await startStack({ redisUrl: redis.url });
  });

  afterAll(async () => {
    await stack?.close();
    await redis?.kill();
  });

  const send = (token: string, text: string) =>
    stack.query(
      'mutation S($t: String!) { sendDirectMessage(input: { recipientId: "2", text: $t }) { message { id text } } }',
      { t: text },
      { token },
    );
  const lastInBobsInbox = async (bob: string) =>
    ok(await stack.query('{ inbox(first: 1) { edges { node { lastMessage { text } } } } }', {}, { token: bob })).inbox
      .edges[0].node.lastMessage.text;

  it('should refuse sends with SERVICE_UNAVAILABLE and store nothing while Redis is away, keep serving the rest, and recover', async () => {
    const [alice, bob] = [await stack.login('alice'), await stack.login('bob')];
    const live = subscribe(stack.wsClient(bob), 'subscription { directMessageReceived { id text } }');
    await stack.liveSubscriptions(1);
    ok(await send(alice, 'before the outage'));
    await live.waitFor(1);

    await redis!.kill();
    redis = undefined;
    expectError(await send(alice, 'during the outage'), 'SERVICE_UNAVAILABLE');
    expect(await lastInBobsInbox(bob)).toBe('before the outage');
    expect(ok(await stack.query('{ viewer { username followingCount } }', {}, { token: alice })).viewer.username).toBe(
      'alice',
    );

    redis = await startRedisServer(port);
    await eventually(
      async () => !(await stack.query('{ feed(first: 1) { edges { cursor } } }', {}, { token: alice })).errors,
      15_000,
    );
    const after = ok(await send(alice, 'after the outage')).sendDirectMessage.message;
    const events = await live.waitFor(2);
    expect(events.map((event) => event.directMessageReceived.text)).toEqual(['before the outage', 'after the outage']);
    expect(events[1].directMessageReceived.id).toBe(after.id);
  });
});
