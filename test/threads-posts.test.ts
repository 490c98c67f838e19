// Threads through the gateway: joining, posting, replying and liking, and what other subgraphs resolve of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok, startStack, type TestStack } from './support/harness.js';
import { FEED, type FeedPage, threadsHelpers } from './support/threads.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const { member, post, thread, profileThreadCount } = threadsHelpers(() => stack);

describe('joining Threads', () => {
  it('should refuse anonymous callers with UNAUTHENTICATED', async () => {
    expectError(
      await stack.query(`#graphql
      mutation { joinThreads { id } }`),
      'UNAUTHENTICATED',
    );
  });

  it('should create the profile from the Instagram account, idempotently', async () => {
    const user = await stack.signUp('joiner');
    const JOIN = `#graphql
      mutation Join($bio: String) { joinThreads(bio: $bio) { id username bio followerCount followingCount joinedAt } }`;
    const first = ok(await stack.query(JOIN, { bio: 'Hello, Threads' }, { token: user.token })).joinThreads;
    expect(first).toMatchObject({
      id: user.id,
      username: user.username,
      bio: 'Hello, Threads',
      followerCount: 0,
      followingCount: 0,
    });
    const again = ok(await stack.query(JOIN, {}, { token: user.token })).joinThreads;
    expect(again).toEqual(first);
  });

  it('should reject a bio over 150 characters and keep the old one', async () => {
    const user = await stack.signUp('joiner');
    const JOIN = `#graphql
      mutation Join($bio: String) { joinThreads(bio: $bio) { bio } }`;
    ok(await stack.query(JOIN, { bio: 'short' }, { token: user.token }));
    expectError(await stack.query(JOIN, { bio: 'x'.repeat(151) }, { token: user.token }), 'BAD_USER_INPUT', 'bio');
    const { profile } = ok(
      await stack.query(
        `#graphql
      query P($u: String!) { profile(username: $u) { bio } }`,
        { u: user.username },
      ),
    );
    expect(profile.bio).toBe('short');
  });
});

describe('posting, replying and liking', () => {
  it('should refuse to post before joining Threads, pointing at joinThreads', async () => {
    const outsider = await stack.signUp('outsider');
    const result = await stack.query(
      `#graphql
      mutation { postThread(text: "hello") { id } }`,
      {},
      { token: outsider.token },
    );
    expectError(result, 'FORBIDDEN');
    expect(result.errors?.[0]?.message).toContain('joinThreads');
  });

  it('should keep reply and like counts in step', async () => {
    const author = await member();
    const fan = await member();
    const original = await post(author, '  A thread worth replying to  ');
    expect(original).toMatchObject({
      text: 'A thread worth replying to',
      replyCount: 0,
      likeCount: 0,
      viewerHasLiked: false,
    });

    const first = await post(fan, 'First reply', original.id);
    const second = await post(author, 'Second reply', original.id);
    const withReplies = await thread(original.id);
    expect(withReplies.replyCount).toBe(2);
    expect(withReplies.replies.edges.map((edge) => edge.node.id)).toEqual([first.id, second.id]);

    const LIKE = `#graphql
      mutation Like($id: ID!) { likeThread(id: $id) { likeCount viewerHasLiked } }`;
    const UNLIKE = `#graphql
      mutation Unlike($id: ID!) { unlikeThread(id: $id) { likeCount viewerHasLiked } }`;
    expect(ok(await stack.query(LIKE, { id: original.id }, { token: fan.token })).likeThread).toEqual({
      likeCount: 1,
      viewerHasLiked: true,
    });
    expect(ok(await stack.query(LIKE, { id: original.id }, { token: fan.token })).likeThread).toEqual({
      likeCount: 1,
      viewerHasLiked: true,
    });
    expect(ok(await stack.query(LIKE, { id: original.id }, { token: author.token })).likeThread).toEqual({
      likeCount: 2,
      viewerHasLiked: true,
    });
    expect(ok(await stack.query(UNLIKE, { id: original.id }, { token: fan.token })).unlikeThread).toEqual({
      likeCount: 1,
      viewerHasLiked: false,
    });
    expect(ok(await stack.query(UNLIKE, { id: original.id }, { token: fan.token })).unlikeThread).toEqual({
      likeCount: 1,
      viewerHasLiked: false,
    });
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
    const result = ok(
      await stack.query(
        `#graphql
      query Q($gone: ID!, $reply: ID!) { gone: thread(id: $gone) { id } reply: thread(id: $reply) { id replyTo { id } } }`,
        { gone: original.id, reply: reply.id },
      ),
    );
    expect(result).toEqual({ gone: null, reply: { id: reply.id, replyTo: null } });
    // Detached, it is still a reply: it does not turn into a post on its author's profile.
    expect(await profileThreadCount(other.username)).toBe(0);
  });

  it('should return null for a thread id that is invalid or unknown', async () => {
    const result = ok(
      await stack.query(`#graphql
      { bad: thread(id: "abc") { id } unknown: thread(id: "987654321") { id } }`),
    );
    expect(result).toEqual({ bad: null, unknown: null });
  });
});

describe('across subgraphs', () => {
  it('should resolve profile.user from Instagram and User.threadsProfile from Threads', async () => {
    const result = ok(
      await stack.query(`#graphql
      {
        profile(username: "alice") { id username user { id username fullName } }
        user(username: "alice") { threadsProfile { username bio } }
        frank: user(username: "frank") { threadsProfile { id } }
      }`),
    );
    expect(result.profile).toEqual({
      id: '1',
      username: 'alice',
      user: { id: '1', username: 'alice', fullName: 'Alice Moreau' },
    });
    expect(result.user.threadsProfile).toEqual({ username: 'alice', bio: 'Ceramics, coffee and long walks.' });
    expect(result.frank.threadsProfile).toBeNull();
  });

  it("should describe the Threads part of a profile's Message button", async () => {
    const { profile } = ok(
      await stack.query(`#graphql
      { profile(username: "bob") { messageAction { label mutation inbox recipient { id username } } } }`),
    );
    expect(profile.messageAction).toEqual({
      label: 'Message',
      mutation: 'sendDirectMessage',
      inbox: 'INSTAGRAM',
      recipient: { id: '2', username: 'bob' },
    });
  });

  it("should show the seeded threads on alice's profile and in her feed", async () => {
    const token = await stack.login('alice');
    const { profile } = ok(
      await stack.query(`#graphql
      { profile(username: "alice") { threads(first: 3) { edges { node { text author { username } } } } } }`),
    );
    expect(profile.threads.edges.length).toBeGreaterThan(0);
    for (const edge of profile.threads.edges) expect(edge.node.author.username).toBe('alice');
    const { feed } = ok(await stack.query<FeedPage>(FEED, { first: 20 }, { token }));
    const authors = new Set(feed.edges.map((edge) => edge.node.author.username));
    expect(authors.has('alice')).toBe(true);
    expect(authors.size).toBeGreaterThan(1);
  });
});
