// Cross-service tests of the rule "someone who blocked you is invisible to you", in every subgraph.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoId } from '@igt/common';
import { BLOCK, FOLLOW, JOIN_THREADS, POST_THREAD, SEND_DM } from './support/documents.js';
import { ok, startStack, subscribe, type TestStack, type TestUser } from './support/harness.js';
import { onSubgraph as onSubgraphOf, type Subgraph } from './support/subgraph.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

async function as<T = any>(
  user: TestUser | undefined,
  document: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  return ok(await stack.query<T>(document, variables, { token: user?.token }));
}

async function block(blocker: TestUser, blocked: TestUser): Promise<void> {
  await as(blocker, BLOCK, { userId: blocked.id });
}

/** Sends `document` straight to a subgraph, as the gateway would on `viewer`'s behalf. */
const onSubgraph = (
  subgraph: Subgraph,
  viewer: { id: string; username: string },
  document: string,
  variables: Record<string, unknown> = {},
) => onSubgraphOf(stack, subgraph, viewer, document, variables);

const demo = async (username: string): Promise<TestUser> => ({
  id: String(demoId(username)),
  username,
  token: await stack.login(username),
});
const usernames = (connection: { edges: { node: { username: string } }[] } | null) =>
  connection?.edges.map((edge) => edge.node.username);

describe('Instagram', () => {
  const LISTS = `#graphql
    query Lists($u: String!, $first: Int) {
      user(username: $u) {
        followerCount followingCount
        followers(first: $first) { edges { node { username } } pageInfo { hasNextPage } }
        following(first: $first) { edges { node { username } } pageInfo { hasNextPage } }
      }
    }`;

  it("should leave the blocker out of someone else's followers and following, and out of the counts beside them", async () => {
    const [blocker, blocked, owner] = await Promise.all([
      stack.signUp('blk'),
      stack.signUp('bld'),
      stack.signUp('own'),
    ]);
    const follow = (user: TestUser, other: TestUser) => as(user, FOLLOW, { userId: other.id });
    await follow(blocked, owner);
    await follow(blocker, owner);
    await follow(owner, blocked);
    await follow(owner, blocker);
    await block(blocker, blocked);

    const seenByBlocked = (await as(blocked, LISTS, { u: owner.username })).user;
    expect(usernames(seenByBlocked.followers)).toEqual([blocked.username]);
    expect(usernames(seenByBlocked.following)).toEqual([blocked.username]);
    expect(seenByBlocked).toMatchObject({ followerCount: 1, followingCount: 1 });

    // A page of one is still full, and does not promise a next page that would turn out empty.
    const firstPage = (await as(blocked, LISTS, { u: owner.username, first: 1 })).user;
    expect(firstPage.followers).toEqual({
      edges: [{ node: { username: blocked.username } }],
      pageInfo: { hasNextPage: false },
    });

    // Only the blocked person is kept out: the blocker, anonymous visitors and everyone else see both.
    for (const viewer of [blocker, undefined]) {
      const seen = (await as(viewer, LISTS, { u: owner.username })).user;
      expect(usernames(seen.followers)!.sort()).toEqual([blocked.username, blocker.username].sort());
      expect(seen).toMatchObject({ followerCount: 2, followingCount: 2 });
    }
  });

  it("should hide frank from dave in bob's followers, as the demo data has it, with a count to match", async () => {
    const [dave, alice] = await Promise.all([demo('dave'), demo('alice')]);
    const BOB =
      '{ user(username: "bob") { followerCount followers(first: 100) { edges { node { username bio isPrivate } } } } }';
    const seenByDave = (await as(dave, BOB)).user;
    expect(usernames(seenByDave.followers)).not.toContain('frank');
    expect(seenByDave.followerCount).toBe(seenByDave.followers.edges.length);
    const seenByAlice = (await as(alice, BOB)).user;
    expect(usernames(seenByAlice.followers)).toContain('frank');
    expect(seenByAlice.followerCount).toBe(seenByDave.followerCount + 1);
  });

  it('should resolve a User reference to the blocker as null for the blocked person, on the subgraph itself', async () => {
    const ENTITIES = `#graphql
      query E($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id username bio followerCount } } }`;
    const representations = ['frank', 'bob'].map((username) => ({ __typename: 'User', id: String(demoId(username)) }));
    const dave = { id: String(demoId('dave')), username: 'dave' };
    const asDave = ok(await onSubgraph('instagram', dave, ENTITIES, { representations }));
    expect(asDave._entities).toEqual([null, expect.objectContaining({ username: 'bob' })]);
    const asAlice = ok(
      await onSubgraph('instagram', { id: String(demoId('alice')), username: 'alice' }, ENTITIES, { representations }),
    );
    expect(asAlice._entities).toEqual([
      expect.objectContaining({ username: 'frank' }),
      expect.objectContaining({ username: 'bob' }),
    ]);
  });
});

describe('Messaging', () => {
  const MESSAGE = 'id text sender { username } reactions { emoji user { username } } seenBy { username }';
  const CONVERSATION = `#graphql
    query C($id: ID!) {
      conversation(id: $id) {
        participants { username bio followerCount }
        unreadCount
        lastMessage { text sender { username } }
        messages(last: 20) { edges { node { ${MESSAGE} } } }
      }
    }`;

  async function send(
    from: TestUser,
    to: TestUser,
    text: string,
  ): Promise<{ messageId: string; conversationId: string }> {
    const { sendDirectMessage } = await as(from, SEND_DM, { input: { recipientId: to.id, text } });
    return { messageId: sendDirectMessage.message.id, conversationId: sendDirectMessage.conversation.id };
  }

  /**
   * A conversation between a blocker and the person they then block: both wrote, the blocker saw and reacted to the
   * other's message, and the blocker had the last word.
   */
  async function blockedConversation() {
    const [blocker, blocked] = await Promise.all([stack.signUp('mblk'), stack.signUp('mbld')]);
    await send(blocked, blocker, 'hi, it is me');
    const { messageId: hello } = await send(blocker, blocked, 'hello you');
    const { messageId: mine, conversationId } = await send(blocked, blocker, 'how are you?');
    await as(blocker, 'mutation R($id: ID!) { reactToMessage(messageId: $id, emoji: "👍") { id } }', { id: mine });
    await send(blocker, blocked, 'leave me alone');
    await as(blocker, 'mutation M($id: ID!) { markConversationSeen(conversationId: $id) { id } }', {
      id: conversationId,
    });
    await block(blocker, blocked);
    return { blocker, blocked, conversationId, hello };
  }

  it("should leave the blocker out of a conversation's participants, messages, reactions and seen marks for the blocked person", async () => {
    const { blocker, blocked, conversationId } = await blockedConversation();

    const seen = (await as(blocked, CONVERSATION, { id: conversationId })).conversation;
    expect(seen.participants).toEqual([expect.objectContaining({ username: blocked.username })]);
    expect(seen.messages.edges.map((edge: { node: unknown }) => edge.node)).toEqual([
      expect.objectContaining({
        text: 'hi, it is me',
        sender: { username: blocked.username },
        reactions: [],
        seenBy: [],
      }),
      expect.objectContaining({
        text: 'how are you?',
        sender: { username: blocked.username },
        reactions: [],
        seenBy: [],
      }),
    ]);
    expect(seen.lastMessage).toEqual({ text: 'how are you?', sender: { username: blocked.username } });
    expect(seen.unreadCount).toBe(0);

    const inbox = await as(
      blocked,
      '{ inbox(first: 10) { edges { node { id participants { username } lastMessage { text } } } } }',
    );
    expect(inbox.inbox.edges).toEqual([
      {
        node: {
          id: conversationId,
          participants: [{ username: blocked.username }],
          lastMessage: { text: 'how are you?' },
        },
      },
    ]);

    // The blocker still sees the whole conversation.
    const blockers = (await as(blocker, CONVERSATION, { id: conversationId })).conversation;
    expect(blockers.participants.map((p: { username: string }) => p.username).sort()).toEqual(
      [blocked.username, blocker.username].sort(),
    );
    expect(blockers.messages.edges).toHaveLength(4);
  });

  it("should resolve the blocker's messages as null by reference, and the conversation's participants without them", async () => {
    const { blocked, conversationId, hello } = await blockedConversation();
    const ENTITIES = `#graphql
      query E($representations: [_Any!]!) {
        _entities(representations: $representations) {
          ... on Message { id text sender { id } }
          ... on Conversation { participants { id } }
        }
      }`;
    const representations = [
      { __typename: 'Message', id: hello },
      { __typename: 'Conversation', id: conversationId },
    ];
    const result = ok(await onSubgraph('messaging', blocked, ENTITIES, { representations }));
    expect(result._entities).toEqual([null, { participants: [{ id: blocked.id }] }]);
  });

  it('should replay only what the blocked person may see, and keep the live subscription working', async () => {
    const { blocked } = await blockedConversation();
    const other = await stack.signUp('mother');
    const live = subscribe(
      stack.wsClient(blocked.token),
      'subscription S($after: ID) { directMessageReceived(after: $after) { text sender { username } } }',
      { after: '0' },
    );
    await stack.liveSubscriptions(1);
    await send(blocked, other, 'anyone there?');
    const events = await live.waitFor(3);
    expect(live.errors).toEqual([]);
    expect(events.map((event) => event.directMessageReceived)).toEqual([
      { text: 'hi, it is me', sender: { username: blocked.username } },
      { text: 'how are you?', sender: { username: blocked.username } },
      { text: 'anyone there?', sender: { username: blocked.username } },
    ]);
    live.unsubscribe();
    await stack.liveSubscriptions(0);
  });
});

describe('Threads', () => {
  async function member(prefix: string): Promise<TestUser> {
    const user = await stack.signUp(prefix);
    await as(user, JOIN_THREADS);
    return user;
  }

  async function post(user: TestUser, text: string, replyToId?: string): Promise<string> {
    const result = await as(user, POST_THREAD, { text, replyToId });
    return result.postThread.id;
  }

  it("should leave the blocker out of a thread's reply count and a profile's follower counts, as out of the lists", async () => {
    const [blocker, blocked, owner] = await Promise.all([member('tblk'), member('tbld'), member('town')]);
    const follow = (user: TestUser, other: TestUser) =>
      as(user, 'mutation F($id: ID!) { followProfile(id: $id) { id } }', { id: other.id });
    for (const user of [blocker, blocked]) {
      await follow(user, owner);
      await follow(owner, user);
    }
    const question = await post(owner, 'Who is around?');
    await post(blocker, 'I am', question);
    const answer = await post(blocked, 'Me too', question);
    await block(blocker, blocked);

    const THREAD = `#graphql
      query T($id: ID!, $u: String!) {
        thread(id: $id) { replyCount replies { edges { node { id author { username } } } } }
        profile(username: $u) { followerCount followingCount }
      }`;
    const seenByBlocked = await as(blocked, THREAD, { id: question, u: owner.username });
    expect(seenByBlocked.thread).toEqual({
      replyCount: 1,
      replies: { edges: [{ node: { id: answer, author: { username: blocked.username } } }] },
    });
    expect(seenByBlocked.profile).toEqual({ followerCount: 1, followingCount: 1 });

    const seenByBlocker = await as(blocker, THREAD, { id: question, u: owner.username });
    expect(seenByBlocker.thread.replyCount).toBe(2);
    expect(seenByBlocker.profile).toEqual({ followerCount: 2, followingCount: 2 });
  });
});
