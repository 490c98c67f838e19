import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoId } from '@igt/common';
import { expectError, ok, startStack, type GraphQLResponse, type TestStack, type TestUser } from './support/harness.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

interface MessageNode {
  id: string;
  text: string;
  source: 'INSTAGRAM' | 'THREADS';
  unsent: boolean;
  sender: { id: string; username: string };
  reactions: { emoji: string; user: { username: string } }[];
  seenBy: { username: string }[];
}

interface ConversationNode {
  id: string;
  folder: 'PRIMARY' | 'GENERAL' | 'REQUESTS';
  unreadCount: number;
  participants: { id: string; username: string }[];
  lastMessage: { id: string; text: string } | null;
}

const MESSAGE_FIELDS = `id text source unsent sender { id username } reactions { emoji user { username } } seenBy { username }`;
const CONVERSATION_FIELDS = `id folder unreadCount participants { id username } lastMessage { id text }`;

/**
 * A fresh person who has opened their inbox once. Messaging cannot read Instagram's accounts, so an account becomes
 * reachable once the gateway has vouched for it (or Instagram's relationships stream mentioned it).
 */
async function person(prefix = 'dm'): Promise<TestUser> {
  return stack.signUp(prefix);
}

async function send(
  from: TestUser,
  to: TestUser | string,
  text: string,
  extra: { source?: 'INSTAGRAM' | 'THREADS'; idempotencyKey?: string } = {},
): Promise<GraphQLResponse<{ sendDirectMessage: { message: MessageNode; conversation: ConversationNode } }>> {
  return stack.query(
    `#graphql
      mutation Send($input: SendDirectMessageInput!) {
        sendDirectMessage(input: $input) {
          message { ${MESSAGE_FIELDS} }
          conversation { ${CONVERSATION_FIELDS} }
        }
      }`,
    { input: { recipientId: typeof to === 'string' ? to : to.id, text, ...extra } },
    { token: from.token },
  );
}

async function sent(from: TestUser, to: TestUser, text: string, extra: Parameters<typeof send>[3] = {}) {
  return ok(await send(from, to, text, extra)).sendDirectMessage;
}

async function inbox(user: TestUser, folder = 'PRIMARY', first?: number, after?: string) {
  const result = await stack.query<{
    inbox: { edges: { cursor: string; node: ConversationNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  }>(
    `#graphql
      query Inbox($folder: InboxFolder, $first: Int, $after: String) {
        inbox(folder: $folder, first: $first, after: $after) {
          edges { cursor node { ${CONVERSATION_FIELDS} } }
          pageInfo { hasNextPage endCursor }
        }
      }`,
    { folder, first, after },
    { token: user.token },
  );
  return ok(result).inbox;
}

const inboxIds = async (user: TestUser, folder = 'PRIMARY') => (await inbox(user, folder, 100)).edges.map((edge) => edge.node.id);

async function conversation(user: TestUser | undefined, id: string, last?: number, before?: string) {
  const result = await stack.query<{
    conversation:
      | (ConversationNode & {
          messages: {
            edges: { cursor: string; node: MessageNode }[];
            pageInfo: { hasPreviousPage: boolean; hasNextPage: boolean; startCursor: string | null; endCursor: string | null };
          };
        })
      | null;
  }>(
    `#graphql
      query Conversation($id: ID!, $last: Int, $before: String) {
        conversation(id: $id) {
          ${CONVERSATION_FIELDS}
          messages(last: $last, before: $before) {
            edges { cursor node { ${MESSAGE_FIELDS} } }
            pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
          }
        }
      }`,
    { id, last, before },
    { token: user?.token },
  );
  return ok(result).conversation;
}

async function mutate(user: TestUser, document: string, variables: Record<string, unknown>) {
  return stack.query(document, variables, { token: user.token });
}

const FOLLOW = `#graphql
  mutation Follow($userId: ID!) { follow(userId: $userId) { id } }`;
const UNFOLLOW = `#graphql
  mutation Unfollow($userId: ID!) { unfollow(userId: $userId) { id } }`;
const BLOCK = `#graphql
  mutation Block($userId: ID!) { block(userId: $userId) { id } }`;
const UNBLOCK = `#graphql
  mutation Unblock($userId: ID!) { unblock(userId: $userId) { id } }`;
const ACCEPT = `#graphql
  mutation Accept($id: ID!) { acceptMessageRequest(conversationId: $id) { id folder } }`;
const DECLINE = `#graphql
  mutation Decline($id: ID!) { declineMessageRequest(conversationId: $id) }`;
const MOVE = `#graphql
  mutation Move($id: ID!, $folder: InboxFolder!) { moveConversation(conversationId: $id, folder: $folder) { id folder } }`;
const MARK_SEEN = `#graphql
  mutation Seen($id: ID!) { markConversationSeen(conversationId: $id) { id unreadCount } }`;
const REACT = `#graphql
  mutation React($id: ID!, $emoji: String) { reactToMessage(messageId: $id, emoji: $emoji) { id reactions { emoji user { username } } } }`;
const UNSEND = `#graphql
  mutation Unsend($id: ID!) { unsendMessage(messageId: $id) { id text unsent } }`;

describe('inbox', () => {
  it('should show anonymous visitors an empty inbox and no conversation, and refuse their sends with UNAUTHENTICATED', async () => {
    // Empty rather than an error: `inbox` cannot be null, and an error would take the rest of the query with it.
    const anonymous = ok(await stack.query(`#graphql
      { inbox { edges { cursor } pageInfo { hasNextPage } } profile(username: "alice") { username } }`));
    expect(anonymous).toEqual({ inbox: { edges: [], pageInfo: { hasNextPage: false } }, profile: { username: 'alice' } });
    expectError(
      await stack.query(`#graphql
        mutation { sendDirectMessage(input: { recipientId: "2", text: "hi" }) { message { id } } }`),
      'UNAUTHENTICATED',
    );
    expect(await conversation(undefined, '1')).toBeNull();
  });

  it('should show the demo conversations, with unread counts and a message sent from Threads', async () => {
    const alice = { id: String(demoId('alice')), username: 'alice', token: await stack.login('alice') };
    const primary = await inbox(alice);
    const withBob = primary.edges.find((edge) => edge.node.participants.some((p) => p.username === 'bob'))?.node;
    expect(withBob).toBeDefined();
    expect(withBob!.participants.map((p) => p.username).sort()).toEqual(['alice', 'bob']);
    expect(withBob!.unreadCount).toBeGreaterThan(0);
    const history = await conversation(alice, withBob!.id, 100);
    expect(history!.messages.edges.some((edge) => edge.node.source === 'THREADS')).toBe(true);

    const carol = { id: String(demoId('carol')), username: 'carol', token: await stack.login('carol') };
    const requests = await inbox(carol, 'REQUESTS');
    expect(requests.edges.some((edge) => edge.node.participants.some((p) => p.username === 'dave'))).toBe(true);
  });

  it('should list conversations newest activity first and page through them with stable cursors', async () => {
    const me = await person();
    const others = await Promise.all([person(), person(), person()]);
    for (const other of others) ok(await mutate(me, FOLLOW, { userId: other.id }));
    for (const other of others) await sent(other, me, `hello from ${other.username}`);
    // Activity in the oldest conversation brings it to the top.
    await sent(others[0]!, me, 'me again');
    const expected = [others[0]!, others[2]!, others[1]!].map((o) => o.username);

    const first = await inbox(me, 'PRIMARY', 2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await inbox(me, 'PRIMARY', 2, first.pageInfo.endCursor!);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const order = [...first.edges, ...second.edges].map((edge) => edge.node.participants.find((p) => p.id !== me.id)!.username);
    expect(order).toEqual(expected);
  });

  it('should reject a cursor that did not come from the inbox', async () => {
    const me = await person();
    expectError(await stack.query(`#graphql
      { inbox(after: "nonsense") { edges { cursor } } }`, {}, { token: me.token }), 'BAD_USER_INPUT', 'after');
  });
});

describe('message requests', () => {
  it('should put a first message from someone the recipient does not follow into their REQUESTS, and PRIMARY for the sender', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    const { conversation: mine } = await sent(sender, recipient, 'hi, we met at the show');
    expect(mine.folder).toBe('PRIMARY');
    expect(await inboxIds(sender)).toContain(mine.id);
    expect(await inboxIds(recipient, 'REQUESTS')).toContain(mine.id);
    expect(await inboxIds(recipient, 'PRIMARY')).not.toContain(mine.id);
  });

  it('should put a first message from someone the recipient follows into their PRIMARY', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    ok(await mutate(recipient, FOLLOW, { userId: sender.id }));
    const { conversation: mine } = await sent(sender, recipient, 'hello friend');
    expect(await inboxIds(recipient, 'PRIMARY')).toContain(mine.id);
    expect(await inboxIds(recipient, 'REQUESTS')).not.toContain(mine.id);
  });

  it('should honour a follow and an unfollow in the very next send', async () => {
    const [sender, recipient, other] = await Promise.all([person(), person(), person()]);
    ok(await mutate(recipient, FOLLOW, { userId: sender.id }));
    const first = await sent(sender, recipient, 'right after the follow');
    expect(await inboxIds(recipient, 'PRIMARY')).toContain(first.conversation.id);

    ok(await mutate(recipient, FOLLOW, { userId: other.id }));
    ok(await mutate(recipient, UNFOLLOW, { userId: other.id }));
    const second = await sent(other, recipient, 'right after the unfollow');
    expect(await inboxIds(recipient, 'REQUESTS')).toContain(second.conversation.id);
  });

  it('should move a request to PRIMARY for the recipient when they reply', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    const { conversation: request } = await sent(sender, recipient, 'can I ask you something?');
    const reply = await sent(recipient, sender, 'sure');
    expect(reply.conversation.id).toBe(request.id);
    expect(reply.conversation.folder).toBe('PRIMARY');
    expect(await inboxIds(recipient, 'PRIMARY')).toContain(request.id);
    expect(await inboxIds(recipient, 'REQUESTS')).not.toContain(request.id);
  });

  it('should accept a message request into PRIMARY', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    const { conversation: request } = await sent(sender, recipient, 'hello there');
    const accepted = ok(await mutate(recipient, ACCEPT, { id: request.id })) as { acceptMessageRequest: { folder: string } };
    expect(accepted.acceptMessageRequest.folder).toBe('PRIMARY');
    expect(await inboxIds(recipient, 'PRIMARY')).toContain(request.id);
    expect(await inboxIds(recipient, 'REQUESTS')).not.toContain(request.id);
  });

  it('should hide a declined request from the decliner only', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    const { conversation: request } = await sent(sender, recipient, 'buy my course');
    const declined = ok(await mutate(recipient, DECLINE, { id: request.id })) as { declineMessageRequest: string };
    expect(declined.declineMessageRequest).toBe(request.id);
    for (const folder of ['PRIMARY', 'GENERAL', 'REQUESTS']) expect(await inboxIds(recipient, folder)).not.toContain(request.id);
    expect(await inboxIds(sender, 'PRIMARY')).toContain(request.id);
  });

  it('should refuse to decline or accept a conversation that is not a request', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const { conversation: mine } = await sent(a, b, 'hey');
    expectError(await mutate(a, DECLINE, { id: mine.id }), 'BAD_USER_INPUT');
    ok(await mutate(a, MOVE, { id: mine.id, folder: 'GENERAL' }));
    expectError(await mutate(a, ACCEPT, { id: mine.id }), 'BAD_USER_INPUT');
  });

  it('should move a conversation between PRIMARY and GENERAL but not into REQUESTS', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const { conversation: mine } = await sent(a, b, 'hey');
    ok(await mutate(a, MOVE, { id: mine.id, folder: 'GENERAL' }));
    expect(await inboxIds(a, 'GENERAL')).toContain(mine.id);
    expect(await inboxIds(a, 'PRIMARY')).not.toContain(mine.id);
    ok(await mutate(a, MOVE, { id: mine.id, folder: 'PRIMARY' }));
    expect(await inboxIds(a, 'PRIMARY')).toContain(mine.id);
    expectError(await mutate(a, MOVE, { id: mine.id, folder: 'REQUESTS' }), 'BAD_USER_INPUT', 'folder');
  });
});

describe('blocks', () => {
  it('should answer a message to someone who blocked the sender as if they did not exist, and store nothing', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    ok(await mutate(recipient, BLOCK, { userId: sender.id }));
    const refused = await send(sender, recipient, 'let me explain');
    expectError(refused, 'NOT_FOUND');
    // The same answer as for an id nobody has: the block is not given away.
    expect(refused.errors?.[0]?.message).toBe(`No user has id ${recipient.id}.`);
    for (const user of [sender, recipient]) {
      for (const folder of ['PRIMARY', 'GENERAL', 'REQUESTS']) expect(await inboxIds(user, folder)).toEqual([]);
    }

    // The block is lifted: the very next send goes through.
    ok(await mutate(recipient, UNBLOCK, { userId: sender.id }));
    const { conversation: request } = await sent(sender, recipient, 'thanks for unblocking me');
    expect(await inboxIds(recipient, 'REQUESTS')).toEqual([request.id]);
    expect((await conversation(recipient, request.id, 10))!.messages.edges).toHaveLength(1);
  });

  it('should refuse a message to someone the sender has blocked with RECIPIENT_BLOCKED', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    ok(await mutate(sender, BLOCK, { userId: recipient.id }));
    expectError(await send(sender, recipient, 'hello?'), 'RECIPIENT_BLOCKED');
    expect(await inboxIds(sender)).toEqual([]);
  });

  it('should refuse a message in an existing conversation once either person blocks the other', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const { conversation: mine } = await sent(a, b, 'first');
    ok(await mutate(b, BLOCK, { userId: a.id }));
    expectError(await send(a, b, 'second'), 'NOT_FOUND');
    expectError(await send(b, a, 'third'), 'RECIPIENT_BLOCKED');
    expect((await conversation(a, mine.id, 10))!.messages.edges.map((edge) => edge.node.text)).toEqual(['first']);
  });
});

describe('sendDirectMessage', () => {
  it('should store and return the source', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const fromThreads = await sent(a, b, 'from the Message button', { source: 'THREADS' });
    expect(fromThreads.message.source).toBe('THREADS');
    expect(fromThreads.message.sender).toEqual({ id: a.id, username: a.username });
    const fromInstagram = await sent(a, b, 'from the app');
    expect(fromInstagram.message.source).toBe('INSTAGRAM');
    const history = await conversation(b, fromThreads.conversation.id, 10);
    expect(history!.messages.edges.map((edge) => edge.node.source)).toEqual(['THREADS', 'INSTAGRAM']);
  });

  it('should validate the text: MESSAGE_TOO_LONG over 1000 characters, BAD_USER_INPUT when empty or blank', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    expectError(await send(a, b, 'x'.repeat(1001)), 'MESSAGE_TOO_LONG', 'input.text');
    expectError(await send(a, b, ''), 'BAD_USER_INPUT', 'input.text');
    expectError(await send(a, b, ' \n\t '), 'BAD_USER_INPUT', 'input.text');
    expect(await inboxIds(a)).toEqual([]);
    const longest = await sent(a, b, '🙂'.repeat(1000));
    expect([...longest.message.text]).toHaveLength(1000);
  });

  it('should refuse a malformed recipient id, yourself and an unknown person', async () => {
    const a = await person();
    expectError(await send(a, 'not-an-id', 'hi'), 'BAD_USER_INPUT', 'input.recipientId');
    expectError(await send(a, a, 'hi me'), 'BAD_USER_INPUT', 'input.recipientId');
    expectError(await send(a, '987654321', 'anyone there?'), 'NOT_FOUND');
    expectError(await send(a, a.id === '1' ? '2' : '1', 'x', { idempotencyKey: 'k'.repeat(101) }), 'BAD_USER_INPUT', 'input.idempotencyKey');
  });

  it('should deliver to an account created a moment ago that has done nothing yet', async () => {
    const [sender, newcomer] = [await stack.signUp('snd'), await stack.signUp('new')];
    const { conversation } = await sent(sender, newcomer, 'welcome!');
    expect((await inbox(newcomer, 'REQUESTS')).edges.map((edge) => edge.node.id)).toEqual([conversation.id]);
  });

  it('should open one conversation when two people write to each other for the first time at once, losing nothing', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const texts = Array.from({ length: 8 }, (_, i) => `hello ${i}`);
    const results = await Promise.all(texts.map((text, i) => (i % 2 ? sent(b, a, text) : sent(a, b, text))));
    expect(new Set(results.map((r) => r.conversation.id)).size).toBe(1);
    const history = await conversation(a, results[0]!.conversation.id, 20);
    expect(history!.messages.edges.map((edge) => edge.node.text).sort()).toEqual([...texts].sort());
  });

  it('should return the first message for a retried send with the same idempotency key and store nothing new', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const first = await sent(a, b, 'only once', { idempotencyKey: 'send-1' });
    const retry = await sent(a, b, 'only once', { idempotencyKey: 'send-1' });
    expect(retry.message.id).toBe(first.message.id);
    expect(retry.conversation.id).toBe(first.conversation.id);

    // Concurrent retries race for the same key: one message in the end.
    const racing = await Promise.all(Array.from({ length: 5 }, () => sent(a, b, 'racing', { idempotencyKey: 'send-2' })));
    expect(new Set(racing.map((r) => r.message.id)).size).toBe(1);

    const history = await conversation(a, first.conversation.id, 10);
    expect(history!.messages.edges.map((edge) => edge.node.text)).toEqual(['only once', 'racing']);

    // The same key from another sender is another message.
    const other = await sent(b, a, 'mine', { idempotencyKey: 'send-1' });
    expect(other.message.id).not.toBe(first.message.id);
  });
});

describe('seen state and unread counts', () => {
  it('should count unread messages from the other person and clear them when the conversation is marked seen', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    ok(await mutate(b, FOLLOW, { userId: a.id }));
    const { conversation: mine } = await sent(a, b, 'one');
    await sent(a, b, 'two');
    await sent(b, a, 'my reply');
    await sent(a, b, 'three');

    expect((await conversation(b, mine.id))!.unreadCount).toBe(3);
    expect((await conversation(a, mine.id))!.unreadCount).toBe(1);
    const seen = ok(await mutate(b, MARK_SEEN, { id: mine.id })) as { markConversationSeen: { unreadCount: number } };
    expect(seen.markConversationSeen.unreadCount).toBe(0);
    expect((await conversation(a, mine.id))!.unreadCount).toBe(1);

    const history = await conversation(a, mine.id, 10);
    const seenBy = Object.fromEntries(history!.messages.edges.map(({ node }) => [node.text, node.seenBy.map((u) => u.username)]));
    expect(seenBy).toEqual({ one: [b.username], two: [b.username], 'my reply': [], three: [b.username] });

    await sent(a, b, 'four');
    expect((await conversation(b, mine.id))!.unreadCount).toBe(1);
  });
});

describe('reactions', () => {
  it('should keep one reaction per person per message, which can be changed and removed', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const { message } = await sent(a, b, 'react to this');
    ok(await mutate(b, REACT, { id: message.id, emoji: '❤️' }));
    ok(await mutate(b, REACT, { id: message.id, emoji: '😂' }));
    const both = ok(await mutate(a, REACT, { id: message.id, emoji: '👍' })) as {
      reactToMessage: { reactions: { emoji: string; user: { username: string } }[] };
    };
    expect(both.reactToMessage.reactions.map((r) => [r.user.username, r.emoji]).sort()).toEqual(
      [[a.username, '👍'], [b.username, '😂']].sort(),
    );
    const removed = ok(await mutate(b, REACT, { id: message.id, emoji: null })) as typeof both;
    expect(removed.reactToMessage.reactions).toEqual([{ emoji: '👍', user: { username: a.username } }]);
    expectError(await mutate(b, REACT, { id: message.id, emoji: '   ' }), 'BAD_USER_INPUT', 'emoji');
  });
});

describe('unsend', () => {
  it('should remove the text for everyone and leave a placeholder', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const { message, conversation: mine } = await sent(a, b, 'oops, wrong chat');
    ok(await mutate(b, REACT, { id: message.id, emoji: '😮' }));
    const unsent = ok(await mutate(a, UNSEND, { id: message.id })) as { unsendMessage: { text: string; unsent: boolean } };
    expect(unsent.unsendMessage).toMatchObject({ text: '', unsent: true });
    for (const user of [a, b]) {
      const [edge] = (await conversation(user, mine.id, 10))!.messages.edges;
      expect(edge!.node).toMatchObject({ id: message.id, text: '', unsent: true, reactions: [] });
    }
  });

  it('should let only the sender unsend, with FORBIDDEN for the other participant', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    const { message, conversation: mine } = await sent(a, b, 'mine to unsend');
    expectError(await mutate(b, UNSEND, { id: message.id }), 'FORBIDDEN');
    expect((await conversation(b, mine.id, 10))!.messages.edges[0]!.node.text).toBe('mine to unsend');
  });
});

describe('message history', () => {
  it('should page back through history, oldest first within a page', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    let conversationId = '';
    for (let i = 1; i <= 5; i += 1) conversationId = (await sent(i % 2 ? a : b, i % 2 ? b : a, `m${i}`)).conversation.id;

    const newest = (await conversation(a, conversationId, 2))!.messages;
    expect(newest.edges.map((edge) => edge.node.text)).toEqual(['m4', 'm5']);
    expect(newest.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });

    const middle = (await conversation(a, conversationId, 2, newest.pageInfo.startCursor!))!.messages;
    expect(middle.edges.map((edge) => edge.node.text)).toEqual(['m2', 'm3']);
    expect(middle.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });

    const oldest = (await conversation(a, conversationId, 2, middle.pageInfo.startCursor!))!.messages;
    expect(oldest.edges.map((edge) => edge.node.text)).toEqual(['m1']);
    expect(oldest.pageInfo.hasPreviousPage).toBe(false);

    const last = await conversation(a, conversationId);
    expect(last!.lastMessage!.text).toBe('m5');
    expectError(
      await stack.query(`#graphql
        query ($id: ID!) { conversation(id: $id) { messages(last: 101) { edges { cursor } } } }`, { id: conversationId }, { token: a.token }),
      'BAD_USER_INPUT',
      'last',
    );
  });
});

describe('privacy', () => {
  it('should show a conversation, its messages and its mutations to its participants only', async () => {
    const [a, b, outsider] = await Promise.all([person(), person(), person()]);
    const { message, conversation: mine } = await sent(a, b, 'just between us');

    expect(await conversation(outsider, mine.id)).toBeNull();
    for (const folder of ['PRIMARY', 'GENERAL', 'REQUESTS']) expect(await inboxIds(outsider, folder)).toEqual([]);
    expectError(await mutate(outsider, MARK_SEEN, { id: mine.id }), 'NOT_FOUND');
    expectError(await mutate(outsider, MOVE, { id: mine.id, folder: 'GENERAL' }), 'NOT_FOUND');
    expectError(await mutate(outsider, ACCEPT, { id: mine.id }), 'NOT_FOUND');
    expectError(await mutate(outsider, DECLINE, { id: mine.id }), 'NOT_FOUND');
    expectError(await mutate(outsider, REACT, { id: message.id, emoji: '👀' }), 'NOT_FOUND');
    expectError(await mutate(outsider, UNSEND, { id: message.id }), 'NOT_FOUND');

    // Nothing the outsider tried changed anything.
    const seenByB = await conversation(b, mine.id, 10);
    expect(seenByB!.messages.edges[0]!.node).toMatchObject({ text: 'just between us', reactions: [], unsent: false });
  });
});

describe('MessageAction', () => {
  const ACTION = `#graphql
    query Action($username: String!) {
      profile(username: $username) {
        messageAction { mutation inbox enabled disabledReason recipient { username } conversation { id } }
      }
    }`;

  it('should tell whether the viewer may message a Threads profile and which conversation it opens', async () => {
    const alice = { id: String(demoId('alice')), username: 'alice', token: await stack.login('alice') };
    const anonymous = ok(await stack.query(ACTION, { username: 'bob' })) as { profile: { messageAction: Record<string, unknown> } };
    expect(anonymous.profile.messageAction).toMatchObject({ enabled: false, disabledReason: 'SIGN_IN_REQUIRED', conversation: null });

    const self = ok(await stack.query(ACTION, { username: 'alice' }, { token: alice.token })) as typeof anonymous;
    expect(self.profile.messageAction).toMatchObject({ enabled: false, disabledReason: 'SELF' });

    const toBob = ok(await stack.query(ACTION, { username: 'bob' }, { token: alice.token })) as typeof anonymous;
    expect(toBob.profile.messageAction).toMatchObject({
      mutation: 'sendDirectMessage',
      inbox: 'INSTAGRAM',
      enabled: true,
      disabledReason: null,
      recipient: { username: 'bob' },
    });
    const withBob = (await inbox(alice)).edges.find((edge) => edge.node.participants.some((p) => p.username === 'bob'))!.node;
    expect(toBob.profile.messageAction.conversation).toEqual({ id: withBob.id });
  });

  it('should disable the button as soon as either person blocks the other', async () => {
    const [a, b] = await Promise.all([person('mab'), person('mab')]);
    for (const user of [a, b]) ok(await mutate(user, `#graphql
      mutation { joinThreads { id } }`, {}));
    const before = ok(await stack.query(ACTION, { username: b.username }, { token: a.token })) as {
      profile: { messageAction: { enabled: boolean; disabledReason: string | null } };
    };
    expect(before.profile.messageAction).toMatchObject({ enabled: true, disabledReason: null });
    ok(await mutate(b, BLOCK, { userId: a.id }));
    // The blocker still sees the blocked person's profile, with the button disabled; Threads hides the blocker's
    // profile from the blocked person altogether.
    const after = ok(await stack.query(ACTION, { username: a.username }, { token: b.token })) as typeof before;
    expect(after.profile.messageAction).toMatchObject({ enabled: false, disabledReason: 'BLOCKED' });
    expect(ok(await stack.query(ACTION, { username: b.username }, { token: a.token })).profile).toBeNull();
  });
});

describe('batching', () => {
  it('should read an inbox page in the same number of statements whatever its length', async () => {
    const me = await person();
    const others = await Promise.all(Array.from({ length: 6 }, () => person()));
    for (const other of others) {
      await sent(other, me, 'hi');
      await sent(me, other, 'hello back');
    }
    const PAGE = `#graphql
      query Page($first: Int) {
        inbox(first: $first) {
          edges { node { id folder unreadCount lastActivityAt participants { id username }
            lastMessage { id text sender { id } reactions { emoji } seenBy { id } }
            messages(last: 3) { edges { node { id text reactions { emoji } seenBy { id } } } } } }
        }
      }`;
    const cost = async (first: number) => {
      const before = stack.sqlStatements();
      const data = ok(await stack.query(PAGE, { first }, { token: me.token })) as { inbox: { edges: unknown[] } };
      expect(data.inbox.edges).toHaveLength(first);
      return stack.sqlStatements() - before;
    };
    // The reactions and seen-by lookups of `lastMessage` and of `messages` are independent paths: depending on when
    // their messages arrive, DataLoader sends them as one batch or as two. Either way the cost must not grow with the
    // page: one statement per conversation for any field would add at least four here.
    const small = await cost(2);
    const large = await cost(6);
    expect(Math.abs(large - small)).toBeLessThanOrEqual(2);
  });
});
