// Messaging through the gateway: sending, seen state and unread counts, reactions and unsend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { BLOCK, FOLLOW } from './support/documents.js';
import { expectError, ok, startStack, type TestStack } from './support/harness.js';
import { MARK_SEEN, REACT, UNSEND, messagingHelpers } from './support/messaging.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const { person, send, sent, inbox, inboxIds, conversation, mutate } = messagingHelpers(() => stack);

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
    expectError(
      await send(a, a.id === '1' ? '2' : '1', 'x', { idempotencyKey: 'k'.repeat(101) }),
      'BAD_USER_INPUT',
      'input.idempotencyKey',
    );
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
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => sent(a, b, 'racing', { idempotencyKey: 'send-2' })),
    );
    expect(new Set(racing.map((r) => r.message.id)).size).toBe(1);

    const history = await conversation(a, first.conversation.id, 10);
    expect(history!.messages.edges.map((edge) => edge.node.text)).toEqual(['only once', 'racing']);

    // The same key from another sender is another message.
    const other = await sent(b, a, 'mine', { idempotencyKey: 'send-1' });
    expect(other.message.id).not.toBe(first.message.id);
  });

  it('should answer a retry with the first message even after a block, and refuse a key reused for someone else', async () => {
    const [a, b, c] = await Promise.all([person(), person(), person()]);
    const first = await sent(a, b, 'before the block', { idempotencyKey: 'retry-1' });
    await sent(a, c, 'hello c');
    expectError(await send(a, c, 'to c', { idempotencyKey: 'retry-1' }), 'CONFLICT', 'input.idempotencyKey');
    expectError(await send(a, await person(), 'to a stranger', { idempotencyKey: 'retry-1' }), 'CONFLICT');

    ok(await mutate(b, BLOCK, { userId: a.id }));
    const retry = await sent(a, b, 'before the block', { idempotencyKey: 'retry-1' });
    expect(retry.message.id).toBe(first.message.id);
    expectError(await send(a, b, 'after the block', { idempotencyKey: 'retry-2' }), 'NOT_FOUND');
    expectError(await send(a, b, 'after the block'), 'NOT_FOUND');
  });
});

/**
 * The Redis commands that `work` makes the stack run, as MONITOR sees them (the scripts' own commands left out):
 * those naming the stack's prefix. A marker sent after `work` tells when MONITOR has shown everything before it.
 */
async function redisCommandsDuring(prefix: string, work: () => Promise<void>): Promise<string[]> {
  const url = process.env.REDIS_URL!;
  const [monitor, marker] = [createClient({ url }), createClient({ url })];
  await Promise.all([monitor.connect(), marker.connect()]);
  try {
    const end = `${prefix}end-of-work`;
    const seen: string[] = [];
    let sawEnd!: () => void;
    const ended = new Promise<void>((resolve) => (sawEnd = resolve));
    await monitor.monitor((line) => {
      if (line.includes(end)) sawEnd();
      else if (line.includes(prefix) && !line.includes(' lua]')) seen.push(line);
    });
    await work();
    await marker.echo(end);
    await ended;
    return seen.map((line) => /\] "(\w+)"/.exec(line)?.[1]?.toUpperCase() ?? line);
  } finally {
    await Promise.all([monitor.close(), marker.close()]);
  }
}

describe('cost of a send', () => {
  it('should append to an existing conversation in two SQL statements and, with Redis, six Redis commands', async () => {
    const [a, b] = await Promise.all([person(), person()]);
    await sent(a, b, 'opens the conversation');
    await sent(b, a, 'and a reply');
    // Only fields Messaging resolves, so that every statement counted is the send's.
    const SEND = `#graphql
      mutation ($to: ID!, $key: String) {
        sendDirectMessage(input: { recipientId: $to, text: "steady", idempotencyKey: $key }) {
          message { id text source } conversation { id folder }
        }
      }`;
    const statementsOfSends: number[] = [];
    const commandsOfSends: string[][] = [];
    for (let n = 0; n < 3; n++) {
      const before = stack.sqlStatements();
      const send = async () => void ok(await stack.query(SEND, { to: b.id, key: `steady-${n}` }, { token: a.token }));
      if (stack.redisPrefix) commandsOfSends.push(await redisCommandsDuring(stack.redisPrefix, send));
      else await send();
      statementsOfSends.push(stack.sqlStatements() - before);
    }
    // The blocks between the two, then the message with both sides and both mailboxes (mailbox.ts). The least of
    // three sends: a relationship change Instagram publishes meanwhile would add the statements that apply it.
    expect(Math.min(...statementsOfSends)).toBe(2);
    if (stack.redisPrefix) {
      // Both sending limits, one look at the relationships stream (where it is trimmed through and what follows, in
      // one MULTI), and the announcement to each participant.
      const fewest = commandsOfSends.reduce((least, commands) => (commands.length < least.length ? commands : least));
      expect(fewest.sort()).toEqual(['EVAL', 'EVAL', 'GET', 'PUBLISH', 'PUBLISH', 'XRANGE']);
    }
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
    const seenBy = Object.fromEntries(
      history!.messages.edges.map(({ node }) => [node.text, node.seenBy.map((u) => u.username)]),
    );
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
      [
        [a.username, '👍'],
        [b.username, '😂'],
      ].sort(),
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
    const unsent = ok(await mutate(a, UNSEND, { id: message.id })) as {
      unsendMessage: { text: string; unsent: boolean };
    };
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
