// Threads through the gateway: what an Instagram block hides and removes on Threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok, startStack, type TestStack, type TestUser } from './support/harness.js';
import { threadsHelpers } from './support/threads.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const { member, post, follow, thread, feedIds } = threadsHelpers(() => stack);

describe('Instagram blocks on Threads', () => {
  const PROFILE = `#graphql
    query P($u: String!) { profile(username: $u) { id followerCount followingCount followedByViewer threads(first: 10) { edges { node { id } } } } }`;
  const LIKE = `#graphql
    mutation Like($id: ID!) { likeThread(id: $id) { likeCount } }`;
  const FOLLOW = `#graphql
    mutation F($id: ID!) { followProfile(id: $id) { followerCount } }`;
  const REPLY = `#graphql
    mutation Reply($text: String!, $replyToId: ID) { postThread(text: $text, replyToId: $replyToId) { id } }`;

  async function instagram(user: TestUser, action: 'block' | 'unblock', other: TestUser) {
    ok(
      await stack.query(
        `mutation B($id: ID!) { ${action}(userId: $id) { id } }`,
        { id: other.id },
        { token: user.token },
      ),
    );
  }

  async function profile(username: string, viewer?: TestUser) {
    return ok(await stack.query(PROFILE, { u: username }, { token: viewer?.token })).profile;
  }

  /** alice (the blocker) and dave (blocked), following each other on Threads; alice has a thread and a reply out. */
  async function blockedPair() {
    const alice = await member('alice');
    const dave = await member('dave');
    const bystander = await member('bystander');
    await follow(alice, dave);
    await follow(dave, alice);
    const aliceThread = await post(alice, 'Only for people I have not blocked');
    const daveThread = await post(dave, 'Hello from dave');
    const bystanderThread = await post(bystander, 'Anyone?');
    const aliceReply = await post(alice, 'Me!', bystanderThread.id);
    const daveReply = await post(dave, 'Me too!', bystanderThread.id);
    return { alice, dave, bystander, aliceThread, daveThread, bystanderThread, aliceReply, daveReply };
  }

  it('should hide the blocker and their threads from the blocked person from the very next request', async () => {
    const { alice, dave, bystanderThread, aliceThread, daveThread, aliceReply, daveReply } = await blockedPair();
    expect(await profile(alice.username, dave)).not.toBeNull();
    expect((await feedIds(dave)).ids).toContain(aliceThread.id);

    await instagram(alice, 'block', dave);

    expect(await profile(alice.username, dave)).toBeNull();
    expect(await thread(aliceThread.id, dave.token)).toBeNull();
    expect((await feedIds(dave)).ids).toEqual([daveThread.id]);
    expect((await thread(bystanderThread.id, dave.token)).replies.edges.map((edge) => edge.node.id)).toEqual([
      daveReply.id,
    ]);
    const reply = ok(
      await stack.query(
        `#graphql
      query R($id: ID!) { thread(id: $id) { id replyTo { id } } }`,
        { id: aliceReply.id },
        { token: dave.token },
      ),
    ).thread;
    expect(reply).toBeNull();
    const { user } = ok(
      await stack.query(
        `#graphql
      query U($u: String!) { user(username: $u) { threadsProfile { id } } }`,
        { u: dave.username },
        { token: dave.token },
      ),
    );
    expect(user.threadsProfile).toEqual({ id: dave.id });

    // Only the blocked person is kept out: the blocker, anonymous readers and everyone else still see it all.
    expect(await profile(dave.username, alice)).toMatchObject({
      id: dave.id,
      threads: { edges: [{ node: { id: daveThread.id } }] },
    });
    expect(await profile(alice.username)).toMatchObject({
      id: alice.id,
      threads: { edges: [{ node: { id: aliceThread.id } }] },
    });
    expect(await thread(aliceThread.id)).toMatchObject({ id: aliceThread.id });
    expect((await thread(bystanderThread.id, alice.token)).replies.edges).toHaveLength(2);
  });

  it('should remove Threads follows between the two both ways, keeping the counts right', async () => {
    const { alice, dave, bystander } = await blockedPair();
    await follow(bystander, alice);
    expect(await profile(alice.username, bystander)).toMatchObject({ followerCount: 2, followingCount: 1 });

    await instagram(alice, 'block', dave);

    expect(await profile(alice.username, alice)).toMatchObject({ followerCount: 1, followingCount: 0 });
    expect(await profile(dave.username, alice)).toMatchObject({
      followerCount: 0,
      followingCount: 0,
      followedByViewer: false,
    });
    expect(await profile(bystander.username, bystander)).toMatchObject({ followerCount: 0, followingCount: 1 });
  });

  it('should remove likes between the two both ways, keeping like counts right and other likes in place', async () => {
    const { alice, dave, bystander, aliceThread, daveThread, daveReply } = await blockedPair();
    const like = async (who: TestUser, id: string) =>
      ok(await stack.query(LIKE, { id }, { token: who.token })).likeThread.likeCount;
    await like(alice, daveThread.id);
    await like(alice, daveReply.id);
    await like(dave, aliceThread.id);
    expect(await like(bystander, aliceThread.id)).toBe(2);

    await instagram(alice, 'block', dave);

    expect(await thread(aliceThread.id, alice.token)).toMatchObject({ likeCount: 1, viewerHasLiked: false });
    expect(await thread(daveThread.id, alice.token)).toMatchObject({ likeCount: 0, viewerHasLiked: false });
    expect(await thread(daveReply.id, alice.token)).toMatchObject({ likeCount: 0 });
    expect(await thread(aliceThread.id, bystander.token)).toMatchObject({ likeCount: 1, viewerHasLiked: true });
    // Unblocking does not bring them back.
    await instagram(alice, 'unblock', dave);
    expect(await thread(aliceThread.id, dave.token)).toMatchObject({ likeCount: 1, viewerHasLiked: false });
  });

  it('should refuse follows, likes and replies between the two, either way, with FORBIDDEN and change nothing', async () => {
    const { alice, dave, aliceThread, daveThread } = await blockedPair();
    await instagram(alice, 'block', dave);

    for (const [viewer, other, otherThread] of [
      [dave, alice, aliceThread],
      [alice, dave, daveThread],
    ] as const) {
      expectError(await stack.query(FOLLOW, { id: other.id }, { token: viewer.token }), 'FORBIDDEN');
      expectError(await stack.query(LIKE, { id: otherThread.id }, { token: viewer.token }), 'FORBIDDEN');
      expectError(
        await stack.query(REPLY, { text: 'Hi', replyToId: otherThread.id }, { token: viewer.token }),
        'FORBIDDEN',
      );
    }
    for (const [owner, ownThread] of [
      [alice, aliceThread],
      [dave, daveThread],
    ] as const) {
      expect(await profile(owner.username, owner)).toMatchObject({ followerCount: 0, followingCount: 0 });
      expect(await thread(ownThread.id, owner.token)).toMatchObject({
        likeCount: 0,
        replyCount: 0,
        replies: { edges: [] },
      });
    }
  });

  it('should show everything again after unblock, without bringing the follows back', async () => {
    const { alice, dave, aliceThread, aliceReply, bystanderThread } = await blockedPair();
    await instagram(alice, 'block', dave);
    expect(await profile(alice.username, dave)).toBeNull();

    await instagram(alice, 'unblock', dave);

    expect(await profile(alice.username, dave)).toMatchObject({
      id: alice.id,
      followerCount: 0,
      followedByViewer: false,
    });
    expect(await thread(aliceThread.id, dave.token)).toMatchObject({ id: aliceThread.id });
    expect((await thread(bystanderThread.id, dave.token)).replies.edges.map((edge) => edge.node.id)).toContain(
      aliceReply.id,
    );
    expect((await feedIds(dave)).ids).not.toContain(aliceThread.id);
    expect(ok(await stack.query(FOLLOW, { id: alice.id }, { token: dave.token })).followProfile).toEqual({
      followerCount: 1,
    });
    expect((await feedIds(dave)).ids).toContain(aliceThread.id);
    expect(ok(await stack.query(LIKE, { id: aliceThread.id }, { token: dave.token })).likeThread).toEqual({
      likeCount: 1,
    });
    ok(await stack.query(REPLY, { text: 'Glad to be back', replyToId: aliceThread.id }, { token: dave.token }));
  });
});
