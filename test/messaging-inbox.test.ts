// Messaging through the gateway: the inbox, message history, who may read a conversation, and batching.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoId } from '@igt/common';
import { FOLLOW } from './support/documents.js';
import { expectError, ok, startStack, type TestStack } from './support/harness.js';
import {
  ACCEPT,
  DECLINE,
  MOVE,
  MARK_SEEN,
  REACT,
  UNSEND,
  inboxPageStatements,
  messagingHelpers,
} from './support/messaging.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const { person, sent, inbox, inboxIds, conversation, mutate } = messagingHelpers(() => stack);

describe('inbox', () => {
  it('should show anonymous visitors an empty inbox and no conversation, and refuse their sends with UNAUTHENTICATED', async () => {
    // Empty rather than an error: `inbox` cannot be null, and an error would take the rest of the query with it.
    const anonymous = ok(
      await stack.query(`#graphql
      { inbox { edges { cursor } pageInfo { hasNextPage } } profile(username: "alice") { username } }`),
    );
    expect(anonymous).toEqual({
      inbox: { edges: [], pageInfo: { hasNextPage: false } },
      profile: { username: 'alice' },
    });
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
    const withBob = primary.edges.find(
      (edge) =>
        edge.node.participants
          .map((p) => p.username)
          .sort()
          .join() === 'alice,bob',
    )?.node;
    expect(withBob).toBeDefined();
    expect(withBob!.unreadCount).toBeGreaterThan(0);
    const history = await conversation(alice, withBob!.id, 100);
    expect(history!.messages.edges.some((edge) => edge.node.source === 'THREADS')).toBe(true);

    // The demo group, the newest activity of alice's inbox, with its title and three members.
    expect(primary.edges[0]!.node.participants.map((p) => p.username).sort()).toEqual(['alice', 'bob', 'carol']);

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
    const order = [...first.edges, ...second.edges].map(
      (edge) => edge.node.participants.find((p) => p.id !== me.id)!.username,
    );
    expect(order).toEqual(expected);
  });

  it('should reject a cursor that did not come from the inbox', async () => {
    const me = await person();
    expectError(
      await stack.query(
        `#graphql
      { inbox(after: "nonsense") { edges { cursor } } }`,
        {},
        { token: me.token },
      ),
      'BAD_USER_INPUT',
      'after',
    );
  });
});

describe('message history', () => {
  it('should page back through history, oldest first within a page', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    let conversationId = '';
    for (let i = 1; i <= 5; i += 1)
      conversationId = (await sent(i % 2 ? a : b, i % 2 ? b : a, `m${i}`)).conversation.id;

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
      await stack.query(
        `#graphql
        query ($id: ID!) { conversation(id: $id) { messages(last: 101) { edges { cursor } } } }`,
        { id: conversationId },
        { token: a.token },
      ),
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
    const cost = (first: number) => inboxPageStatements(stack, me, PAGE, first);
    // The reactions and seen-by lookups of `lastMessage` and of `messages` are independent paths: depending on when
    // their messages arrive, DataLoader sends them as one batch or as two. Either way the cost must not grow with the
    // page: one statement per conversation for any field would add at least four here.
    const small = await cost(2);
    const large = await cost(6);
    expect(Math.abs(large - small)).toBeLessThanOrEqual(2);
  });
});
