import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok, startStack, type TestStack, type TestUser } from './support/harness.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

interface ThreadNode {
  id: string;
  text: string;
  replyCount: number;
  likeCount: number;
  viewerHasLiked: boolean;
}

/** A fresh Instagram account that has joined Threads. */
async function member(prefix = 'thr'): Promise<TestUser> {
  const user = await stack.signUp(prefix);
  ok(await stack.query(`#graphql
    mutation { joinThreads { id } }`, {}, { token: user.token }));
  return user;
}

async function post(user: TestUser, text: string, replyToId?: string): Promise<ThreadNode> {
  const result = await stack.query<{ postThread: ThreadNode }>(
    `#graphql
      mutation Post($text: String!, $replyToId: ID) {
        postThread(text: $text, replyToId: $replyToId) { id text replyCount likeCount viewerHasLiked }
      }`,
    { text, replyToId },
    { token: user.token },
  );
  return ok(result).postThread;
}

async function follow(user: TestUser, other: TestUser) {
  ok(await stack.query(`#graphql
    mutation Follow($id: ID!) { followProfile(id: $id) { id } }`, { id: other.id }, { token: user.token }));
}

async function thread(id: string, token?: string): Promise<ThreadNode & { replies: { edges: { node: { id: string } }[] } }> {
  const result = await stack.query(
    `#graphql
      query Thread($id: ID!) {
        thread(id: $id) { id text replyCount likeCount viewerHasLiked replies { edges { node { id } } } }
      }`,
    { id },
    { token },
  );
  return ok(result).thread;
}

const FEED = `#graphql
  query Feed($first: Int, $after: String) {
    feed(first: $first, after: $after) {
      edges { cursor node { id text author { username } } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

interface FeedPage {
  feed: { edges: { cursor: string; node: { id: string; text: string; author: { username: string } } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

async function feedIds(user: TestUser, first = 50, after?: string) {
  const { feed } = ok(await stack.query<FeedPage>(FEED, { first, after }, { token: user.token }));
  return { ids: feed.edges.map((edge) => edge.node.id), pageInfo: feed.pageInfo };
}

async function profileThreadCount(username: string): Promise<number> {
  const result = await stack.query(`#graphql
    query Profile($username: String!) { profile(username: $username) { threads(first: 100) { edges { node { id } } } } }`, { username });
  return ok(result).profile.threads.edges.length;
}

describe('joining Threads', () => {
  it('should refuse anonymous callers with UNAUTHENTICATED', async () => {
    expectError(await stack.query(`#graphql
      mutation { joinThreads { id } }`), 'UNAUTHENTICATED');
  });

  it('should create the profile from the Instagram account, idempotently', async () => {
    const user = await stack.signUp('joiner');
    const JOIN = `#graphql
      mutation Join($bio: String) { joinThreads(bio: $bio) { id username bio followerCount followingCount joinedAt } }`;
    const first = ok(await stack.query(JOIN, { bio: 'Hello, Threads' }, { token: user.token })).joinThreads;
    expect(first).toMatchObject({ id: user.id, username: user.username, bio: 'Hello, Threads', followerCount: 0, followingCount: 0 });
    const again = ok(await stack.query(JOIN, {}, { token: user.token })).joinThreads;
    expect(again).toEqual(first);
  });

  it('should reject a bio over 150 characters and keep the old one', async () => {
    const user = await stack.signUp('joiner');
    const JOIN = `#graphql
      mutation Join($bio: String) { joinThreads(bio: $bio) { bio } }`;
    ok(await stack.query(JOIN, { bio: 'short' }, { token: user.token }));
    expectError(await stack.query(JOIN, { bio: 'x'.repeat(151) }, { token: user.token }), 'BAD_USER_INPUT', 'bio');
    const { profile } = ok(await stack.query(`#graphql
      query P($u: String!) { profile(username: $u) { bio } }`, { u: user.username }));
    expect(profile.bio).toBe('short');
  });
});

describe('posting, replying and liking', () => {
  it('should refuse to post before joining Threads, pointing at joinThreads', async () => {
    const outsider = await stack.signUp('outsider');
    const result = await stack.query(`#graphql
      mutation { postThread(text: "hello") { id } }`, {}, { token: outsider.token });
    expectError(result, 'FORBIDDEN');
    expect(result.errors?.[0]?.message).toContain('joinThreads');
  });

  it('should keep reply and like counts in step', async () => {
    const author = await member();
    const fan = await member();
    const original = await post(author, '  A thread worth replying to  ');
    expect(original).toMatchObject({ text: 'A thread worth replying to', replyCount: 0, likeCount: 0, viewerHasLiked: false });

    const first = await post(fan, 'First reply', original.id);
    const second = await post(author, 'Second reply', original.id);
    const withReplies = await thread(original.id);
    expect(withReplies.replyCount).toBe(2);
    expect(withReplies.replies.edges.map((edge) => edge.node.id)).toEqual([first.id, second.id]);

    const LIKE = `#graphql
      mutation Like($id: ID!) { likeThread(id: $id) { likeCount viewerHasLiked } }`;
    const UNLIKE = `#graphql
      mutation Unlike($id: ID!) { unlikeThread(id: $id) { likeCount viewerHasLiked } }`;
    expect(ok(await stack.query(LIKE, { id: original.id }, { token: fan.token })).likeThread).toEqual({ likeCount: 1, viewerHasLiked: true });
    expect(ok(await stack.query(LIKE, { id: original.id }, { token: fan.token })).likeThread).toEqual({ likeCount: 1, viewerHasLiked: true });
    expect(ok(await stack.query(LIKE, { id: original.id }, { token: author.token })).likeThread).toEqual({ likeCount: 2, viewerHasLiked: true });
    expect(ok(await stack.query(UNLIKE, { id: original.id }, { token: fan.token })).unlikeThread).toEqual({ likeCount: 1, viewerHasLiked: false });
    expect(ok(await stack.query(UNLIKE, { id: original.id }, { token: fan.token })).unlikeThread).toEqual({ likeCount: 1, viewerHasLiked: false });
    expect((await thread(original.id, fan.token)).viewerHasLiked).toBe(false);
    expect((await thread(original.id, author.token)).viewerHasLiked).toBe(true);
  });

  it('should reject empty, whitespace-only and too long text and bad reply ids, storing nothing', async () => {
    const user = await member();
    const POST = `#graphql
      mutation Post($text: String!, $replyToId: ID) { postThread(text: $text, replyToId: $replyToId) { id } }`;
    const send = (text: string, replyToId?: string) => stack.query(POST, { text, replyToId }, { token: user.token });
    expectError(await send(''), 'BAD_USER_INPUT', 'text');
    expectError(await send(' \n\t '), 'BAD_USER_INPUT', 'text');
    expectError(await send('x'.repeat(501)), 'BAD_USER_INPUT', 'text');
    expectError(await send('fine', 'not-an-id'), 'BAD_USER_INPUT', 'replyToId');
    expectError(await send('fine', '999999999'), 'NOT_FOUND');
    expect(await profileThreadCount(user.username)).toBe(0);

    const longest = await post(user, 'x'.repeat(500));
    expect(longest.text).toHaveLength(500);
    expect(await profileThreadCount(user.username)).toBe(1);
  });

  it('should let people delete only their own threads, leaving replies in place', async () => {
    const author = await member();
    const other = await member();
    const original = await post(author, 'Soon gone');
    const reply = await post(other, 'I will outlive it', original.id);
    const DELETE = `#graphql
      mutation Delete($id: ID!) { deleteThread(id: $id) }`;
    expectError(await stack.query(DELETE, { id: original.id }, { token: other.token }), 'FORBIDDEN');
    expect(await thread(original.id)).not.toBeNull();
    expect(ok(await stack.query(DELETE, { id: original.id }, { token: author.token })).deleteThread).toBe(original.id);
    const result = ok(await stack.query(`#graphql
      query Q($gone: ID!, $reply: ID!) { gone: thread(id: $gone) { id } reply: thread(id: $reply) { id replyTo { id } } }`,
      { gone: original.id, reply: reply.id }));
    expect(result).toEqual({ gone: null, reply: { id: reply.id, replyTo: null } });
    // Detached, it is still a reply: it does not turn into a post on its author's profile.
    expect(await profileThreadCount(other.username)).toBe(0);
  });

  it('should return null for a thread id that is invalid or unknown', async () => {
    const result = ok(await stack.query(`#graphql
      { bad: thread(id: "abc") { id } unknown: thread(id: "987654321") { id } }`));
    expect(result).toEqual({ bad: null, unknown: null });
  });
});

describe('Threads follows', () => {
  it('should keep follower and following counts in step, idempotently', async () => {
    const fan = await member();
    const star = await member();
    const FOLLOW = `#graphql
      mutation F($id: ID!) { followProfile(id: $id) { followerCount followedByViewer } }`;
    const UNFOLLOW = `#graphql
      mutation U($id: ID!) { unfollowProfile(id: $id) { followerCount followedByViewer } }`;
    expect(ok(await stack.query(FOLLOW, { id: star.id }, { token: fan.token })).followProfile).toEqual({ followerCount: 1, followedByViewer: true });
    expect(ok(await stack.query(FOLLOW, { id: star.id }, { token: fan.token })).followProfile).toEqual({ followerCount: 1, followedByViewer: true });
    const { profile } = ok(await stack.query(`#graphql
      query P($u: String!) { profile(username: $u) { followingCount } }`, { u: fan.username }));
    expect(profile.followingCount).toBe(1);
    expect(ok(await stack.query(UNFOLLOW, { id: star.id }, { token: fan.token })).unfollowProfile).toEqual({ followerCount: 0, followedByViewer: false });
    expect(ok(await stack.query(UNFOLLOW, { id: star.id }, { token: fan.token })).unfollowProfile).toEqual({ followerCount: 0, followedByViewer: false });
  });

  it('should take many concurrent follows and unfollows between two profiles, both ways, and keep the counts true', async () => {
    const [a, b] = [await member(), await member()];
    const toggle = (who: TestUser, whom: TestUser, i: number) =>
      stack.query(`mutation T($id: ID!) { ${i % 2 ? 'unfollowProfile' : 'followProfile'}(id: $id) { id } }`, { id: whom.id }, { token: who.token });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => [toggle(a, b, i), toggle(b, a, i)]).flat());
    for (const result of results) ok(result);
    const COUNTS = `#graphql
      query P($u: String!) { profile(username: $u) { followerCount followingCount followedByViewer } }`;
    const [pa, pb] = [ok(await stack.query(COUNTS, { u: a.username }, { token: b.token })).profile, ok(await stack.query(COUNTS, { u: b.username }, { token: a.token })).profile];
    expect(pa).toMatchObject({ followerCount: Number(pa.followedByViewer), followingCount: Number(pb.followedByViewer) });
    expect(pb).toMatchObject({ followerCount: Number(pb.followedByViewer), followingCount: Number(pa.followedByViewer) });
  });

  it('should refuse following yourself or an unknown profile', async () => {
    const user = await member();
    const FOLLOW = `#graphql
      mutation F($id: ID!) { followProfile(id: $id) { id } }`;
    expectError(await stack.query(FOLLOW, { id: user.id }, { token: user.token }), 'BAD_USER_INPUT', 'id');
    expectError(await stack.query(FOLLOW, { id: '987654321' }, { token: user.token }), 'NOT_FOUND');
    const { profile } = ok(await stack.query(`#graphql
      query P($u: String!) { profile(username: $u) { followingCount followerCount } }`, { u: user.username }));
    expect(profile).toEqual({ followingCount: 0, followerCount: 0 });
  });
});

describe('the feed', () => {
  it('should show top-level threads from followed profiles and the viewer, newest first', async () => {
    const viewer = await member();
    const followed = await member();
    const stranger = await member();
    await follow(viewer, followed);
    const a = await post(followed, 'followed, first');
    const b = await post(viewer, 'mine');
    await post(stranger, 'not followed');
    await post(followed, 'a reply stays out of the feed', a.id);
    const c = await post(followed, 'followed, second');
    expect((await feedIds(viewer)).ids).toEqual([c.id, b.id, a.id]);
  });

  it('should give anonymous viewers an empty feed', async () => {
    const { feed } = ok(await stack.query<FeedPage>(FEED, { first: 10 }));
    expect(feed).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('should keep pages stable when new threads are posted between them', async () => {
    const viewer = await member();
    const posted: string[] = [];
    for (let i = 0; i < 6; i += 1) posted.unshift((await post(viewer, `thread ${i}`)).id);

    const page1 = await feedIds(viewer, 2);
    expect(page1.ids).toEqual(posted.slice(0, 2));
    expect(page1.pageInfo.hasNextPage).toBe(true);
    await post(viewer, 'posted between pages');
    const page2 = await feedIds(viewer, 2, page1.pageInfo.endCursor!);
    const page3 = await feedIds(viewer, 2, page2.pageInfo.endCursor!);
    expect([...page1.ids, ...page2.ids, ...page3.ids]).toEqual(posted);
    expect(page3.pageInfo.hasNextPage).toBe(false);
  });

  it('should reject an invalid cursor or page size with BAD_USER_INPUT', async () => {
    const viewer = await member();
    expectError(await stack.query(FEED, { after: 'not-a-cursor' }, { token: viewer.token }), 'BAD_USER_INPUT', 'after');
    expectError(await stack.query(FEED, { first: 0 }, { token: viewer.token }), 'BAD_USER_INPUT', 'first');
    expectError(await stack.query(FEED, { first: 101 }, { token: viewer.token }), 'BAD_USER_INPUT', 'first');
  });

  it('should cost the same number of SQL statements for a page of 5 as for a page of 50', async () => {
    const viewer = await member('feedcost');
    const authors = [viewer, await member('feedcost'), await member('feedcost'), await member('feedcost')];
    for (const author of authors.slice(1)) await follow(viewer, author);
    for (let i = 0; i < 60; i += 1) {
      const author = authors[i % authors.length]!;
      const threadPosted = await post(author, `thread ${i} by ${author.username}`);
      // Some likes by the viewer, so viewerHasLiked is true on part of the page.
      if (i % 3 === 0) {
        ok(await stack.query(`#graphql
          mutation L($id: ID!) { likeThread(id: $id) { id } }`, { id: threadPosted.id }, { token: viewer.token }));
      }
    }
    const PAGE = `#graphql
      query Page($first: Int) {
        feed(first: $first) {
          edges { node { id author { username user { fullName followerCount } } likeCount viewerHasLiked replyCount } }
        }
      }`;
    const cost = async (first: number) => {
      const before = stack.sqlStatements();
      const { feed } = ok(await stack.query(PAGE, { first }, { token: viewer.token }));
      expect(feed.edges).toHaveLength(first);
      return stack.sqlStatements() - before;
    };
    await cost(5); // warm-up: the first request of a kind may plan or prepare differently
    const small = await cost(5);
    const large = await cost(50);
    expect(large).toBe(small);
  });
});

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
    ok(await stack.query(`mutation B($id: ID!) { ${action}(userId: $id) { id } }`, { id: other.id }, { token: user.token }));
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
    expect((await thread(bystanderThread.id, dave.token)).replies.edges.map((edge) => edge.node.id)).toEqual([daveReply.id]);
    const reply = ok(await stack.query(`#graphql
      query R($id: ID!) { thread(id: $id) { id replyTo { id } } }`, { id: aliceReply.id }, { token: dave.token })).thread;
    expect(reply).toBeNull();
    const { user } = ok(await stack.query(`#graphql
      query U($u: String!) { user(username: $u) { threadsProfile { id } } }`, { u: dave.username }, { token: dave.token }));
    expect(user.threadsProfile).toEqual({ id: dave.id });

    // Only the blocked person is kept out: the blocker, anonymous readers and everyone else still see it all.
    expect(await profile(dave.username, alice)).toMatchObject({ id: dave.id, threads: { edges: [{ node: { id: daveThread.id } }] } });
    expect(await profile(alice.username)).toMatchObject({ id: alice.id, threads: { edges: [{ node: { id: aliceThread.id } }] } });
    expect(await thread(aliceThread.id)).toMatchObject({ id: aliceThread.id });
    expect((await thread(bystanderThread.id, alice.token)).replies.edges).toHaveLength(2);
  });

  it('should remove Threads follows between the two both ways, keeping the counts right', async () => {
    const { alice, dave, bystander } = await blockedPair();
    await follow(bystander, alice);
    expect(await profile(alice.username, bystander)).toMatchObject({ followerCount: 2, followingCount: 1 });

    await instagram(alice, 'block', dave);

    expect(await profile(alice.username, alice)).toMatchObject({ followerCount: 1, followingCount: 0 });
    expect(await profile(dave.username, alice)).toMatchObject({ followerCount: 0, followingCount: 0, followedByViewer: false });
    expect(await profile(bystander.username, bystander)).toMatchObject({ followerCount: 0, followingCount: 1 });
  });

  it('should remove likes between the two both ways, keeping like counts right and other likes in place', async () => {
    const { alice, dave, bystander, aliceThread, daveThread, daveReply } = await blockedPair();
    const like = async (who: TestUser, id: string) => ok(await stack.query(LIKE, { id }, { token: who.token })).likeThread.likeCount;
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

    for (const [viewer, other, otherThread] of [[dave, alice, aliceThread], [alice, dave, daveThread]] as const) {
      expectError(await stack.query(FOLLOW, { id: other.id }, { token: viewer.token }), 'FORBIDDEN');
      expectError(await stack.query(LIKE, { id: otherThread.id }, { token: viewer.token }), 'FORBIDDEN');
      expectError(await stack.query(REPLY, { text: 'Hi', replyToId: otherThread.id }, { token: viewer.token }), 'FORBIDDEN');
    }
    for (const [owner, ownThread] of [[alice, aliceThread], [dave, daveThread]] as const) {
      expect(await profile(owner.username, owner)).toMatchObject({ followerCount: 0, followingCount: 0 });
      expect(await thread(ownThread.id, owner.token)).toMatchObject({ likeCount: 0, replyCount: 0, replies: { edges: [] } });
    }
  });

  it('should show everything again after unblock, without bringing the follows back', async () => {
    const { alice, dave, aliceThread, aliceReply, bystanderThread } = await blockedPair();
    await instagram(alice, 'block', dave);
    expect(await profile(alice.username, dave)).toBeNull();

    await instagram(alice, 'unblock', dave);

    expect(await profile(alice.username, dave)).toMatchObject({ id: alice.id, followerCount: 0, followedByViewer: false });
    expect(await thread(aliceThread.id, dave.token)).toMatchObject({ id: aliceThread.id });
    expect((await thread(bystanderThread.id, dave.token)).replies.edges.map((edge) => edge.node.id)).toContain(aliceReply.id);
    expect((await feedIds(dave)).ids).not.toContain(aliceThread.id);
    expect(ok(await stack.query(FOLLOW, { id: alice.id }, { token: dave.token })).followProfile).toEqual({ followerCount: 1 });
    expect((await feedIds(dave)).ids).toContain(aliceThread.id);
    expect(ok(await stack.query(LIKE, { id: aliceThread.id }, { token: dave.token })).likeThread).toEqual({ likeCount: 1 });
    ok(await stack.query(REPLY, { text: 'Glad to be back', replyToId: aliceThread.id }, { token: dave.token }));
  });
});

describe('across subgraphs', () => {
  it('should resolve profile.user from Instagram and User.threadsProfile from Threads', async () => {
    const result = ok(await stack.query(`#graphql
      {
        profile(username: "alice") { id username user { id username fullName } }
        user(username: "alice") { threadsProfile { username bio } }
        frank: user(username: "frank") { threadsProfile { id } }
      }`));
    expect(result.profile).toEqual({ id: '1', username: 'alice', user: { id: '1', username: 'alice', fullName: 'Alice Moreau' } });
    expect(result.user.threadsProfile).toEqual({ username: 'alice', bio: 'Ceramics, coffee and long walks.' });
    expect(result.frank.threadsProfile).toBeNull();
  });

  it("should describe the Threads part of a profile's Message button", async () => {
    const { profile } = ok(await stack.query(`#graphql
      { profile(username: "bob") { messageAction { label mutation inbox recipient { id username } } } }`));
    expect(profile.messageAction).toEqual({
      label: 'Message',
      mutation: 'sendDirectMessage',
      inbox: 'INSTAGRAM',
      recipient: { id: '2', username: 'bob' },
    });
  });

  it("should show the seeded threads on alice's profile and in her feed", async () => {
    const token = await stack.login('alice');
    const { profile } = ok(await stack.query(`#graphql
      { profile(username: "alice") { threads(first: 3) { edges { node { text author { username } } } } } }`));
    expect(profile.threads.edges.length).toBeGreaterThan(0);
    for (const edge of profile.threads.edges) expect(edge.node.author.username).toBe('alice');
    const { feed } = ok(await stack.query<FeedPage>(FEED, { first: 20 }, { token }));
    const authors = new Set(feed.edges.map((edge) => edge.node.author.username));
    expect(authors.has('alice')).toBe(true);
    expect(authors.size).toBeGreaterThan(1);
  });
});
