// Messaging through the gateway: message requests and folders, blocks, and the Message button.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoId } from '@igt/common';
import { FOLLOW, UNFOLLOW, BLOCK, UNBLOCK } from './support/documents.js';
import { expectError, ok, startStack, type TestStack } from './support/harness.js';
import { ACCEPT, DECLINE, MOVE, messagingHelpers } from './support/messaging.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const { person, send, sent, inbox, inboxIds, conversation, mutate } = messagingHelpers(() => stack);

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
    const accepted = ok(await mutate(recipient, ACCEPT, { id: request.id })) as {
      acceptMessageRequest: { folder: string };
    };
    expect(accepted.acceptMessageRequest.folder).toBe('PRIMARY');
    expect(await inboxIds(recipient, 'PRIMARY')).toContain(request.id);
    expect(await inboxIds(recipient, 'REQUESTS')).not.toContain(request.id);
  });

  it('should hide a declined request from the decliner only', async () => {
    const [sender, recipient] = await Promise.all([person(), person()]);
    const { conversation: request } = await sent(sender, recipient, 'buy my course');
    const declined = ok(await mutate(recipient, DECLINE, { id: request.id })) as { declineMessageRequest: string };
    expect(declined.declineMessageRequest).toBe(request.id);
    for (const folder of ['PRIMARY', 'GENERAL', 'REQUESTS'])
      expect(await inboxIds(recipient, folder)).not.toContain(request.id);
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

describe('MessageAction', () => {
  const ACTION = `#graphql
    query Action($username: String!) {
      profile(username: $username) {
        messageAction { mutation inbox enabled disabledReason recipient { username } conversation { id } }
      }
    }`;

  it('should tell whether the viewer may message a Threads profile and which conversation it opens', async () => {
    const alice = { id: String(demoId('alice')), username: 'alice', token: await stack.login('alice') };
    const anonymous = ok(await stack.query(ACTION, { username: 'bob' })) as {
      profile: { messageAction: Record<string, unknown> };
    };
    expect(anonymous.profile.messageAction).toMatchObject({
      enabled: false,
      disabledReason: 'SIGN_IN_REQUIRED',
      conversation: null,
    });

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
    // The one-to-one conversation with bob, not the demo group he is in too.
    const withBob = (await inbox(alice)).edges.find(
      (edge) =>
        edge.node.participants
          .map((p) => p.username)
          .sort()
          .join() === 'alice,bob',
    )!.node;
    expect(toBob.profile.messageAction.conversation).toEqual({ id: withBob.id });
  });

  it('should disable the button as soon as either person blocks the other', async () => {
    const [a, b] = await Promise.all([person('mab'), person('mab')]);
    for (const user of [a, b])
      ok(
        await mutate(
          user,
          `#graphql
      mutation { joinThreads { id } }`,
          {},
        ),
      );
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
