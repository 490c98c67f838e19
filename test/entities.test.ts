// `_entities` sent straight to each subgraph, as the gateway's query plans send it: every entity type each subgraph
// resolves, null for a representation that does not exist or is not the viewer's, and one batch however many there are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK, FOLLOW, JOIN_THREADS, POST_THREAD } from './support/documents.js';
import { sendDm } from './support/dms.js';
import { ok, startStack, type TestStack, type TestUser } from './support/harness.js';
import { onSubgraph, type Subgraph } from './support/subgraph.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

/** An id no account, profile, thread, conversation or message has. */
const NOBODY = '987654321';

/** `_entities` with `selection` for `representations`, on `subgraph` as `viewer`; the list it resolved to. */
async function entities(
  subgraph: Subgraph,
  viewer: TestUser,
  selection: string,
  representations: Record<string, unknown>[],
) {
  const document = `#graphql
    query Entities($representations: [_Any!]!) { _entities(representations: $representations) { ${selection} } }`;
  return ok(await onSubgraph(stack, subgraph, viewer, document, { representations }))._entities as unknown[];
}

/** SQL statements `run` cost, across all subgraphs. */
async function statements(run: () => Promise<unknown>): Promise<number> {
  const before = stack.sqlStatements();
  await run();
  return stack.sqlStatements() - before;
}

const as = async (user: TestUser, document: string, variables: Record<string, unknown> = {}) =>
  ok(await stack.query(document, variables, { token: user.token }));

/** A fresh person for each prefix. */
const people = <T extends string[]>(...prefixes: T) =>
  Promise.all(prefixes.map((prefix) => stack.signUp(prefix))) as Promise<{ [K in keyof T]: TestUser }>;

/** `count` prefixes `prefix`, at least one. */
const times = (count: number, prefix: string): [string, ...string[]] => [
  prefix,
  ...Array<string>(count - 1).fill(prefix),
];

describe('Instagram', () => {
  const USER = `... on User { id username followerCount followsViewer isCloseFriend }`;

  it('should resolve a User by id, and null for an unknown id, a malformed one and someone who blocked the viewer', async () => {
    const [viewer, other, blocker] = await people('ent', 'ent', 'ent');
    await as(blocker, BLOCK, { userId: viewer.id });
    const resolved = await entities('instagram', viewer, USER, [
      { __typename: 'User', id: other.id },
      { __typename: 'User', id: NOBODY },
      { __typename: 'User', id: 'not-an-id' },
      { __typename: 'User', id: blocker.id },
    ]);
    expect(resolved).toEqual([
      { id: other.id, username: other.username, followerCount: 0, followsViewer: false, isCloseFriend: false },
      null,
      null,
      null,
    ]);
  });

  it('should resolve 2 or 6 Users in the same number of statements', async () => {
    const [viewer, ...others] = await people(...times(7, 'enb'));
    const cost = (count: number) =>
      statements(async () => {
        const reps = others.slice(0, count).map((user) => ({ __typename: 'User', id: user.id }));
        expect(await entities('instagram', viewer, USER, reps)).toHaveLength(count);
      });
    expect(await cost(6)).toBe(await cost(2));
  });
});

describe('Threads', () => {
  /** `count` fresh people on Threads, each with one thread; returns them with their thread's id. */
  async function members<T extends string[]>(...prefixes: T) {
    return Promise.all(
      (await people(...prefixes)).map(async (user: TestUser) => {
        await as(user, JOIN_THREADS);
        const posted = await as(user, POST_THREAD, { text: `hello from ${user.username}` });
        return { ...user, threadId: posted.postThread.id as string };
      }),
    ) as Promise<{ [K in keyof T]: TestUser & { threadId: string } }>;
  }

  it('should resolve a Profile, and null for someone not on Threads, an unknown id and someone who blocked the viewer', async () => {
    const [viewer, member, blocker] = await members('etp', 'etp', 'etp');
    const [outsider] = await people('eto');
    await as(blocker, BLOCK, { userId: viewer.id });
    const resolved = await entities('threads', viewer, '... on Profile { id username followerCount }', [
      { __typename: 'Profile', id: member.id },
      { __typename: 'Profile', id: outsider.id },
      { __typename: 'Profile', id: NOBODY },
      { __typename: 'Profile', id: blocker.id },
    ]);
    expect(resolved).toEqual([{ id: member.id, username: member.username, followerCount: 0 }, null, null, null]);
  });

  it('should resolve a Thread, and null for an unknown id and a thread by someone who blocked the viewer', async () => {
    const [viewer, member, blocker] = await members('ett', 'ett', 'ett');
    await as(blocker, BLOCK, { userId: viewer.id });
    const resolved = await entities('threads', viewer, '... on Thread { id text author { id } }', [
      { __typename: 'Thread', id: member.threadId },
      { __typename: 'Thread', id: NOBODY },
      { __typename: 'Thread', id: blocker.threadId },
    ]);
    expect(resolved).toEqual([
      { id: member.threadId, text: `hello from ${member.username}`, author: { id: member.id } },
      null,
      null,
    ]);
  });

  it("should resolve a User's threadsProfile, null when they are not on Threads, and the Threads half of a MessageAction", async () => {
    const [viewer, member] = await members('etu', 'etu');
    const [outsider] = await people('eto');
    const users = await entities('threads', viewer, '... on User { id threadsProfile { username } }', [
      { __typename: 'User', id: member.id },
      { __typename: 'User', id: outsider.id },
    ]);
    expect(users).toEqual([
      { id: member.id, threadsProfile: { username: member.username } },
      { id: outsider.id, threadsProfile: null },
    ]);
    const actions = await entities(
      'threads',
      viewer,
      '... on MessageAction { label mutation inbox recipient { id } }',
      [{ __typename: 'MessageAction', recipient: { id: member.id } }],
    );
    expect(actions).toEqual([
      { label: 'Message', mutation: 'sendDirectMessage', inbox: 'INSTAGRAM', recipient: { id: member.id } },
    ]);
  });

  /** What resolving the first `count` of `others`' profiles or threads costs in statements. */
  function costOf(viewer: TestUser, others: (TestUser & { threadId: string })[]) {
    const PROFILE =
      '... on Profile { id followerCount followedByViewer threads(first: 2) { edges { node { id likeCount replyCount viewerHasLiked } } } }';
    const THREAD = '... on Thread { id text likeCount replyCount viewerHasLiked author { id } }';
    return (count: number, typename: 'Profile' | 'Thread') =>
      statements(async () => {
        const reps = others
          .slice(0, count)
          .map((user) => ({ __typename: typename, id: typename === 'Profile' ? user.id : user.threadId }));
        expect(await entities('threads', viewer, typename === 'Profile' ? PROFILE : THREAD, reps)).toHaveLength(count);
      });
  }

  // The first request after the setup also brings Threads' blocks projection up to date (three statements, however
  // many entities): one request first, so both measured ones find it caught up.
  it('should resolve 2 or 6 Threads in the same number of statements', async () => {
    const [viewer, ...others] = await members(...times(7, 'etb'));
    const cost = costOf(viewer, others);
    await cost(1, 'Thread');
    expect(await cost(6, 'Thread')).toBe(await cost(2, 'Thread'));
  });

  it('should resolve 2 or 6 Profiles in the same number of statements', async () => {
    const [viewer, ...others] = await members(...times(7, 'etp'));
    const cost = costOf(viewer, others);
    await cost(1, 'Profile');
    expect(await cost(6, 'Profile')).toBe(await cost(2, 'Profile'));
  });
});

describe('Messaging', () => {
  const CONVERSATION_FIELDS = 'id folder participants { id } lastMessage { id text }';
  const MESSAGE_FIELDS = 'id text sender { id } conversation { id }';
  const CONVERSATION = `... on Conversation { ${CONVERSATION_FIELDS} }`;
  const MESSAGE = `... on Message { ${MESSAGE_FIELDS} }`;

  /** A conversation between `from` and `to` with one message; its id and the message's. */
  async function conversationOf(from: TestUser, to: TestUser, text = 'hello') {
    const message = await sendDm(stack, from, to.id, text);
    const data = await entities('messaging', from, '... on Message { conversation { id } }', [
      { __typename: 'Message', id: message.id },
    ]);
    return { conversationId: (data[0] as { conversation: { id: string } }).conversation.id, messageId: message.id };
  }

  it("should resolve the viewer's Conversation, and null for an unknown id and someone else's, even with the viewer forged in as a member", async () => {
    const [viewer, friend, stranger, strangersFriend] = await people('emc', 'emc', 'emc', 'emc');
    const mine = await conversationOf(viewer, friend, 'just us');
    const theirs = await conversationOf(stranger, strangersFriend, 'not yours');
    const resolved = await entities('messaging', viewer, CONVERSATION, [
      { __typename: 'Conversation', id: mine.conversationId },
      { __typename: 'Conversation', id: NOBODY },
      { __typename: 'Conversation', id: theirs.conversationId },
      { __typename: 'Conversation', id: theirs.conversationId, participants: [{ id: viewer.id }] },
    ]);
    expect(resolved).toEqual([
      {
        id: mine.conversationId,
        folder: 'PRIMARY',
        participants: expect.arrayContaining([{ id: viewer.id }, { id: friend.id }]),
        lastMessage: { id: mine.messageId, text: 'just us' },
      },
      null,
      null,
      null,
    ]);
  });

  it("should resolve the viewer's Message, and null for an unknown id and a message in someone else's conversation", async () => {
    const [viewer, friend, stranger, strangersFriend] = await people('emm', 'emm', 'emm', 'emm');
    const mine = await conversationOf(friend, viewer, 'for you');
    const theirs = await conversationOf(stranger, strangersFriend, 'not for you');
    const resolved = await entities('messaging', viewer, MESSAGE, [
      { __typename: 'Message', id: mine.messageId },
      { __typename: 'Message', id: NOBODY },
      { __typename: 'Message', id: theirs.messageId },
      {
        __typename: 'Message',
        id: theirs.messageId,
        conversation: { id: mine.conversationId },
        sender: { id: viewer.id },
      },
    ]);
    expect(resolved).toEqual([
      { id: mine.messageId, text: 'for you', sender: { id: friend.id }, conversation: { id: mine.conversationId } },
      null,
      null,
      null,
    ]);
  });

  it("should resolve a MessageAction with the viewer's own conversation only, disabled when the recipient blocked the viewer, and a User by its key", async () => {
    const [viewer, friend, stranger, strangersFriend, blocker] = await people('ema', 'ema', 'ema', 'ema', 'ema');
    const mine = await conversationOf(viewer, friend);
    await conversationOf(stranger, strangersFriend);
    await as(blocker, BLOCK, { userId: viewer.id });
    const actions = await entities(
      'messaging',
      viewer,
      '... on MessageAction { enabled disabledReason recipient { id } conversation { id } }',
      [
        { __typename: 'MessageAction', recipient: { id: friend.id } },
        { __typename: 'MessageAction', recipient: { id: strangersFriend.id } },
        { __typename: 'MessageAction', recipient: { id: blocker.id } },
        { __typename: 'MessageAction', recipient: { id: viewer.id } },
      ],
    );
    expect(actions).toEqual([
      { enabled: true, disabledReason: null, recipient: { id: friend.id }, conversation: { id: mine.conversationId } },
      { enabled: true, disabledReason: null, recipient: { id: strangersFriend.id }, conversation: null },
      { enabled: false, disabledReason: 'BLOCKED', recipient: { id: blocker.id }, conversation: null },
      { enabled: false, disabledReason: 'SELF', recipient: { id: viewer.id }, conversation: null },
    ]);
    expect(await entities('messaging', viewer, '... on User { id }', [{ __typename: 'User', id: friend.id }])).toEqual([
      { id: friend.id },
    ]);
  });

  it('should resolve 2 or 6 Conversations, Messages and MessageActions in the same number of statements', async () => {
    const [viewer, ...others] = await people(...times(7, 'emb'));
    for (const other of others) await as(viewer, FOLLOW, { userId: other.id });
    const threads: { conversationId: string; messageId: string }[] = [];
    for (const other of others) threads.push(await conversationOf(other, viewer, `hi from ${other.username}`));
    const selections = {
      Conversation: `... on Conversation { ${CONVERSATION_FIELDS} unreadCount messages(last: 3) { edges { node { id reactions { emoji } seenBy { id } } } } }`,
      Message: `... on Message { ${MESSAGE_FIELDS} reactions { emoji } seenBy { id } }`,
      MessageAction: '... on MessageAction { enabled disabledReason conversation { id } }',
    };
    const representation = (typename: keyof typeof selections, i: number) =>
      typename === 'Conversation'
        ? { __typename: typename, id: threads[i]!.conversationId }
        : typename === 'Message'
          ? { __typename: typename, id: threads[i]!.messageId }
          : { __typename: typename, recipient: { id: others[i]!.id } };
    const cost = (count: number, typename: keyof typeof selections) =>
      statements(async () => {
        const reps = Array.from({ length: count }, (_, i) => representation(typename, i));
        const resolved = await entities('messaging', viewer, selections[typename], reps);
        expect(resolved.filter((entity) => entity !== null)).toHaveLength(count);
      });
    for (const typename of ['Conversation', 'Message', 'MessageAction'] as const) {
      expect(await cost(6, typename), typename).toBe(await cost(2, typename));
    }
  });
});
