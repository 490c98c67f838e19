// Group conversations through the gateway: creating, sending, membership windows, admin rules, blocks and privacy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK, FOLLOW, JOIN_THREADS } from './support/documents.js';
import { expectError, ok, startStack, subscribe, type TestStack, type TestUser } from './support/harness.js';
import { MARK_SEEN, REACT, UNSEND, inboxPageStatements, messagingHelpers } from './support/messaging.js';
import { onSubgraph } from './support/subgraph.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const { person, sent, inboxIds, conversation, mutate } = messagingHelpers(() => stack);

const GROUP_FIELDS = `id kind title viewerIsMember folder admin { id } participants { id } lastMessage { id text }`;

const CREATE_GROUP = `#graphql
  mutation Create($input: CreateGroupInput!) { createGroup(input: $input) { ${GROUP_FIELDS} } }`;
const SEND_MESSAGE = `#graphql
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) { message { id text sender { id } } conversation { id lastMessage { id } } }
  }`;
const RENAME = `#graphql
  mutation Rename($id: ID!, $title: String!) { renameGroup(conversationId: $id, title: $title) { id title } }`;
const ADD = `#graphql
  mutation Add($id: ID!, $memberIds: [ID!]!) { addGroupMembers(conversationId: $id, memberIds: $memberIds) { ${GROUP_FIELDS} } }`;
const REMOVE = `#graphql
  mutation Remove($id: ID!, $memberId: ID!) { removeGroupMember(conversationId: $id, memberId: $memberId) { ${GROUP_FIELDS} } }`;
const LEAVE = `#graphql
  mutation Leave($id: ID!) { leaveGroup(conversationId: $id) { ${GROUP_FIELDS} } }`;
const MESSAGES = `#graphql
  subscription Messages($after: ID) { directMessageReceived(after: $after) { id text conversation { id } } }`;
const EVENTS = `#graphql
  subscription Events($after: ID) {
    inboxEvents(after: $after) {
      __typename position conversation { id }
      actor { id }
      ... on MessageSentEvent { message { id text } }
      ... on MembersAddedEvent { members { id } }
      ... on MemberRemovedEvent { member { id } }
      ... on GroupRenamedEvent { title }
    }
  }`;

interface Group {
  id: string;
  kind: string;
  title: string | null;
  viewerIsMember: boolean;
  folder: string;
  admin: { id: string } | null;
  participants: { id: string }[];
  lastMessage: { id: string; text: string } | null;
}

async function createGroup(creator: TestUser, members: TestUser[], extra: Record<string, unknown> = {}) {
  const input = { memberIds: members.map((member) => member.id), title: 'the group', ...extra };
  return ok(await mutate(creator, CREATE_GROUP, { input })).createGroup as Group;
}

async function sendInto(sender: TestUser, conversationId: string, text: string, idempotencyKey?: string) {
  const input = { conversationId, text, idempotencyKey };
  return ok(await mutate(sender, SEND_MESSAGE, { input })).sendMessage.message as { id: string; text: string };
}

const ids = (users: { id: string }[]) => users.map((user) => user.id).sort();

describe('creating a group', () => {
  it('should create a titled group that every member finds in their inbox, in REQUESTS unless they follow the creator', async () => {
    const [creator, follower, stranger] = await Promise.all([person('gc'), person('gf'), person('gs')]);
    ok(await mutate(follower, FOLLOW, { userId: creator.id }));
    const group = await createGroup(creator, [follower, stranger], { title: '  Weekend plans ' });
    expect(group).toMatchObject({
      kind: 'GROUP',
      title: 'Weekend plans',
      viewerIsMember: true,
      folder: 'PRIMARY',
      admin: { id: creator.id },
      lastMessage: null,
    });
    expect(ids(group.participants)).toEqual(ids([creator, follower, stranger]));
    expect(await inboxIds(creator)).toContain(group.id);
    expect(await inboxIds(follower)).toContain(group.id);
    expect(await inboxIds(stranger, 'REQUESTS')).toContain(group.id);
    expect(await inboxIds(stranger)).not.toContain(group.id);
  });

  it('should return the first group for a retry with the same idempotency key', async () => {
    const [creator, a, b] = await Promise.all([person('gi'), person('gi'), person('gi')]);
    const first = await createGroup(creator, [a, b], { idempotencyKey: 'group-1' });
    const retry = await createGroup(creator, [a, b], { idempotencyKey: 'group-1' });
    expect(retry.id).toBe(first.id);
    expect((await inboxIds(a, 'REQUESTS')).filter((id) => id === first.id)).toHaveLength(1);
  });

  it('should refuse fewer than 2 or more than 31 other people, oneself, repeats and bad titles with BAD_USER_INPUT', async () => {
    const [creator, a, b] = await Promise.all([person('gb'), person('gb'), person('gb')]);
    const attempt = (memberIds: string[], title?: string | null) =>
      mutate(creator, CREATE_GROUP, { input: { memberIds, title } });
    expectError(await attempt([a.id]), 'BAD_USER_INPUT', 'input.memberIds');
    const many = Array.from({ length: 32 }, (_, index) => String(900_000_000 + index));
    expectError(await attempt(many), 'BAD_USER_INPUT', 'input.memberIds');
    expectError(await attempt([a.id, creator.id]), 'BAD_USER_INPUT', 'input.memberIds');
    expectError(await attempt([a.id, a.id]), 'BAD_USER_INPUT', 'input.memberIds');
    expectError(await attempt([a.id, b.id], '   '), 'BAD_USER_INPUT', 'input.title');
    expectError(await attempt([a.id, b.id], 'x'.repeat(101)), 'BAD_USER_INPUT', 'input.title');
    expectError(await attempt([a.id, '987654321']), 'NOT_FOUND');
    // Bad input changes nothing; an untitled group is fine.
    expect(await inboxIds(a, 'REQUESTS')).toEqual([]);
    expect((await createGroup(creator, [a, b], { title: null })).title).toBeNull();
  });

  // 33 sign-ups: a longer bound on a hang, for a machine whose cores are busy.
  it('should take up to 31 other people, and refuse to add anyone past 32 members', async () => {
    const creator = await person('gz');
    // A few sign-ups at a time: each hashes a password, and all at once could outlast the gateway's patience.
    const others: TestUser[] = [];
    while (others.length < 32) others.push(...(await Promise.all(Array.from({ length: 4 }, () => person('gz')))));
    const group = await createGroup(creator, others.slice(0, 31));
    expect(group.participants).toHaveLength(32);
    expectError(
      await mutate(creator, ADD, { id: group.id, memberIds: [others[31]!.id] }),
      'BAD_USER_INPUT',
      'memberIds',
    );
    ok(await mutate(creator, REMOVE, { id: group.id, memberId: others[0]!.id }));
    const added = ok(await mutate(creator, ADD, { id: group.id, memberIds: [others[31]!.id] })).addGroupMembers;
    expect(added.participants).toHaveLength(32);
  }, 120_000);

  it('should refuse anyone who blocked, or was blocked by, the creator or another member', async () => {
    const [creator, a, b, blocker, blocked] = await Promise.all([
      person('gk'),
      person('gk'),
      person('gk'),
      person('gk'),
      person('gk'),
    ]);
    ok(await mutate(blocker, BLOCK, { userId: creator.id }));
    ok(await mutate(creator, BLOCK, { userId: blocked.id }));
    ok(await mutate(a, BLOCK, { userId: b.id }));
    // Someone who blocked the creator does not exist for them, as for a send.
    expectError(await mutate(creator, CREATE_GROUP, { input: { memberIds: [a.id, blocker.id] } }), 'NOT_FOUND');
    expectError(await mutate(creator, CREATE_GROUP, { input: { memberIds: [a.id, blocked.id] } }), 'RECIPIENT_BLOCKED');
    expectError(await mutate(creator, CREATE_GROUP, { input: { memberIds: [a.id, b.id] } }), 'RECIPIENT_BLOCKED');

    const [c, d] = await Promise.all([person('gk'), person('gk')]);
    const group = await createGroup(creator, [a, c]);
    expectError(await mutate(creator, ADD, { id: group.id, memberIds: [b.id] }), 'RECIPIENT_BLOCKED');
    expectError(await mutate(creator, ADD, { id: group.id, memberIds: [blocker.id] }), 'NOT_FOUND');
    expect(ids((await conversation(creator, group.id))!.participants)).toEqual(ids([creator, a, c]));
    expect(
      ids(ok(await mutate(creator, ADD, { id: group.id, memberIds: [d.id] })).addGroupMembers.participants),
    ).toEqual(ids([creator, a, c, d]));
  });
});

describe('messages in a group', () => {
  it('should not reach, live or in history, a member whom the sender has blocked', async () => {
    const [creator, blocker, blocked] = await Promise.all([person('gh'), person('gh'), person('gh')]);
    const group = await createGroup(creator, [blocker, blocked]);
    const live = subscribe(stack.wsClient(blocked.token), MESSAGES, { after: '0' });
    const before = await sendInto(blocker, group.id, 'before the block');
    await live.waitFor(1);
    ok(await mutate(blocker, BLOCK, { userId: blocked.id }));
    const hidden = await sendInto(blocker, group.id, 'after the block');
    const shown = await sendInto(creator, group.id, 'from the creator');
    const received = (await live.waitFor(2)).map((event) => event.directMessageReceived.id);
    expect(received).toEqual([before.id, shown.id]);
    const history = await conversation(blocked, group.id);
    expect(history!.messages.edges.map((edge) => edge.node.id)).toEqual([shown.id]);
    expect((await conversation(creator, group.id))!.messages.edges.map((edge) => edge.node.id)).toEqual([
      before.id,
      hidden.id,
      shown.id,
    ]);
  });

  it('should deliver a message, live and as an inbox event, to every member, and let members react, see and unsend', async () => {
    const [creator, a, b] = await Promise.all([person('gm'), person('gm'), person('gm')]);
    const group = await createGroup(creator, [a, b]);
    const members = [creator, a, b];
    const messageStreams = members.map((member) => subscribe(stack.wsClient(member.token), MESSAGES, { after: '0' }));
    const eventStreams = members.map((member) => subscribe(stack.wsClient(member.token), EVENTS, { after: '0' }));

    const first = await sendInto(a, group.id, 'hello all', 'g-send-1');
    const again = await sendInto(a, group.id, 'hello all', 'g-send-1');
    expect(again.id).toBe(first.id);
    const second = await sendInto(creator, group.id, 'welcome');
    for (const stream of messageStreams) {
      const events = await stream.waitFor(2);
      expect(events.map((event) => event.directMessageReceived.id)).toEqual([first.id, second.id]);
    }
    for (const [index, stream] of eventStreams.entries()) {
      // a, who does not follow the creator, had the group in REQUESTS: replying in it accepted it, for a alone.
      const expected = ['MembersAddedEvent', 'MessageSentEvent', 'MessageSentEvent'];
      if (members[index] === a) expected.splice(2, 0, 'ConversationFiledEvent');
      const events = (await stream.waitFor(expected.length)).map((event) => event.inboxEvents);
      expect(events.map((event) => event.__typename)).toEqual(expected);
      expect(ids(events[0].members)).toEqual(ids(members));
      expect(events[1].message).toEqual({ id: first.id, text: 'hello all' });
    }

    const forB = await conversation(b, group.id);
    expect(forB).toMatchObject({ folder: 'REQUESTS', unreadCount: 2, lastMessage: { id: second.id } });
    // A reply to a request accepts it for the one replying.
    await sendInto(b, group.id, 'hi');
    expect((await conversation(b, group.id))!.folder).toBe('PRIMARY');

    const reacted = ok(await mutate(b, REACT, { id: first.id, emoji: '🎉' })).reactToMessage;
    expect(reacted.reactions).toEqual([{ emoji: '🎉', user: { username: b.username } }]);
    expect(ok(await mutate(creator, MARK_SEEN, { id: group.id })).markConversationSeen.unreadCount).toBe(0);
    const history = await conversation(a, group.id);
    expect(history!.messages.edges.find((edge) => edge.node.id === first.id)!.node.seenBy).toEqual([
      { username: creator.username },
    ]);
    expect(ok(await mutate(creator, UNSEND, { id: second.id })).unsendMessage).toMatchObject({
      unsent: true,
      text: '',
    });
    expectError(await mutate(a, UNSEND, { id: second.id }), 'FORBIDDEN');
    for (const stream of eventStreams) {
      const kinds = async () => (await stream.waitFor(0)).map((event) => event.inboxEvents.__typename);
      await expect.poll(kinds).toContain('MessageUnsentEvent');
      expect(await kinds()).toContain('ReactionChangedEvent');
    }
  });

  it('should mark a group seen before any message, and never list a newcomer as having seen what came before them', async () => {
    const [creator, a, newcomer] = await Promise.all([person('gn'), person('gn'), person('gn')]);
    const group = await createGroup(creator, [a, newcomer]);
    expect(ok(await mutate(a, MARK_SEEN, { id: group.id })).markConversationSeen.unreadCount).toBe(0);
    ok(await mutate(creator, REMOVE, { id: group.id, memberId: newcomer.id }));
    const earlier = await sendInto(creator, group.id, 'before the newcomer is back');
    ok(await mutate(creator, ADD, { id: group.id, memberIds: [newcomer.id] }));
    ok(await mutate(newcomer, MARK_SEEN, { id: group.id }));
    ok(await mutate(a, MARK_SEEN, { id: group.id }));
    const later = await sendInto(creator, group.id, 'after');
    ok(await mutate(newcomer, MARK_SEEN, { id: group.id }));
    const history = await conversation(creator, group.id);
    const seenBy = (id: string) =>
      history!.messages.edges
        .find((edge) => edge.node.id === id)!
        .node.seenBy.map((seer) => seer.username)
        .sort();
    expect(seenBy(earlier.id)).toEqual([a.username]);
    expect(seenBy(later.id)).toEqual([newcomer.username]);
  });

  it('should go the one-to-one way for a one-to-one conversation', async () => {
    const [a, b] = await Promise.all([person('gd'), person('gd')]);
    const opened = await sent(a, b, 'first');
    const reply = await sendInto(b, opened.conversation.id, 'through sendMessage');
    const forA = await conversation(a, opened.conversation.id);
    expect(forA!.lastMessage).toEqual({ id: reply.id, text: 'through sendMessage' });
  });
});

describe('membership', () => {
  it('should stop delivering to a member who leaves at once, and let them keep reading what they had', async () => {
    const [creator, a, leaver, other] = await Promise.all([person('gl'), person('gl'), person('gl'), person('gl')]);
    const group = await createGroup(creator, [a, leaver]);
    const kept = await sendInto(creator, group.id, 'before leaving');
    const live = subscribe(stack.wsClient(leaver.token), MESSAGES, { after: '0' });
    const events = subscribe(stack.wsClient(leaver.token), EVENTS, { after: '0' });
    await live.waitFor(1);

    const left = ok(await mutate(leaver, LEAVE, { id: group.id })).leaveGroup as Group;
    expect(left).toMatchObject({ viewerIsMember: false, lastMessage: { id: kept.id } });
    expect(ids(left.participants)).toEqual(ids([creator, a]));
    const after = await sendInto(a, group.id, 'after leaving');
    // A message that does reach the leaver next shows that nothing of the group came in between.
    const direct = await sent(other, leaver, 'a direct message');
    const received = await live.waitFor(2);
    expect(received.map((event) => event.directMessageReceived.id)).toEqual([kept.id, direct.message.id]);
    const types = (await events.waitFor(4)).map((event) => event.inboxEvents.__typename);
    expect(types).toEqual(['MembersAddedEvent', 'MessageSentEvent', 'MemberRemovedEvent', 'MessageSentEvent']);

    const history = await conversation(leaver, group.id);
    expect(history!.messages.edges.map((edge) => edge.node.id)).toEqual([kept.id]);
    expect(history!.unreadCount).toBe(1);
    const replay = subscribe(stack.wsClient(leaver.token), MESSAGES, { after: '0' });
    await replay.waitFor(2);
    expect(replay.events.map((event) => event.directMessageReceived.id)).not.toContain(after.id);

    expectError(await mutate(leaver, SEND_MESSAGE, { input: { conversationId: group.id, text: 'x' } }), 'FORBIDDEN');
    expectError(await mutate(leaver, REACT, { id: kept.id, emoji: '👍' }), 'FORBIDDEN');
    expectError(await mutate(leaver, REACT, { id: after.id, emoji: '👍' }), 'NOT_FOUND');
    expectError(await mutate(leaver, LEAVE, { id: group.id }), 'FORBIDDEN');
  });

  it('should let only the admin rename, add and remove, show newcomers only what follows, and pass on the admin role', async () => {
    const [admin, a, b, newcomer] = await Promise.all([person('ga'), person('ga'), person('ga'), person('ga')]);
    const group = await createGroup(admin, [a, b]);
    const earlier = await sendInto(a, group.id, 'before the newcomer');
    expectError(await mutate(a, RENAME, { id: group.id, title: 'mine' }), 'FORBIDDEN');
    expectError(await mutate(a, ADD, { id: group.id, memberIds: [newcomer.id] }), 'FORBIDDEN');
    expectError(await mutate(a, REMOVE, { id: group.id, memberId: b.id }), 'FORBIDDEN');
    expectError(await mutate(admin, REMOVE, { id: group.id, memberId: admin.id }), 'BAD_USER_INPUT');
    expectError(await mutate(admin, REMOVE, { id: group.id, memberId: newcomer.id }), 'NOT_FOUND');

    const eventsOfA = subscribe(stack.wsClient(a.token), EVENTS, { after: '0' });
    expect(ok(await mutate(admin, RENAME, { id: group.id, title: 'Renamed' })).renameGroup.title).toBe('Renamed');
    ok(await mutate(admin, ADD, { id: group.id, memberIds: [newcomer.id] }));
    const later = await sendInto(b, group.id, 'after the newcomer');
    const forNewcomer = await conversation(newcomer, group.id);
    expect(forNewcomer!.messages.edges.map((edge) => edge.node.id)).toEqual([later.id]);
    expect(forNewcomer!.unreadCount).toBe(1);
    expectError(await mutate(newcomer, REACT, { id: earlier.id, emoji: '👍' }), 'NOT_FOUND');

    const removed = ok(await mutate(admin, REMOVE, { id: group.id, memberId: b.id })).removeGroupMember as Group;
    expect(ids(removed.participants)).toEqual(ids([admin, a, newcomer]));
    expect((await conversation(b, group.id))!.messages.edges.map((edge) => edge.node.id)).toEqual([
      earlier.id,
      later.id,
    ]);

    // a joined before the newcomer, so a becomes admin when the admin leaves.
    ok(await mutate(admin, LEAVE, { id: group.id }));
    const forA = ok(await mutate(a, RENAME, { id: group.id, title: 'Now mine' })).renameGroup;
    expect(forA.title).toBe('Now mine');

    const seen = async () => (await eventsOfA.waitFor(0)).map((event) => event.inboxEvents.__typename);
    await expect.poll(seen).toEqual([
      'MembersAddedEvent',
      'MessageSentEvent',
      // a's first message answered the group, a request for a: it accepted it.
      'ConversationFiledEvent',
      'GroupRenamedEvent',
      'MembersAddedEvent',
      'MessageSentEvent',
      'MemberRemovedEvent',
      'MemberRemovedEvent',
      'GroupRenamedEvent',
    ]);
    // The last member may leave too.
    ok(await mutate(a, LEAVE, { id: group.id }));
    ok(await mutate(newcomer, LEAVE, { id: group.id }));
  });
});

describe('requests and changes that change nothing', () => {
  it('should accept a group request by replying, recorded for the replier, and record nothing for the same title', async () => {
    const [creator, a, stranger] = await Promise.all([person('ga'), person('ga'), person('ga')]);
    const group = await createGroup(creator, [a, stranger], { title: 'same' });
    expect(await inboxIds(stranger, 'REQUESTS')).toContain(group.id);
    ok(await mutate(creator, RENAME, { id: group.id, title: 'same' }));
    await sendInto(stranger, group.id, 'count me in');
    expect(await inboxIds(stranger)).toContain(group.id);
    const replay = subscribe(
      stack.wsClient(stranger.token),
      `subscription { inboxEvents(after: "0") { __typename actor { id } ... on ConversationFiledEvent { change folder } } }`,
    );
    await replay.waitFor(3);
    expect(replay.events.map((event) => event.inboxEvents)).toEqual([
      { __typename: 'MembersAddedEvent', actor: { id: creator.id } },
      { __typename: 'MessageSentEvent', actor: { id: stranger.id } },
      { __typename: 'ConversationFiledEvent', actor: { id: stranger.id }, change: 'ACCEPTED', folder: 'PRIMARY' },
    ]);
  });
});

describe('leaving, as an attacker would try it', () => {
  it('should show someone who left the group as it was: its members then, and the reactions made while they were in it', async () => {
    const [admin, a, b, later] = await Promise.all([person('gx'), person('gx'), person('gx'), person('gx')]);
    const group = await createGroup(admin, [a, b]);
    const message = await sendInto(admin, group.id, 'before b leaves');
    ok(await mutate(a, REACT, { id: message.id, emoji: '👋' }));
    ok(await mutate(b, LEAVE, { id: group.id }));
    ok(await mutate(admin, ADD, { id: group.id, memberIds: [later.id] }));
    ok(await mutate(admin, REACT, { id: message.id, emoji: '🆕' }));
    const forB = ok(
      await mutate(
        b,
        `query G($id: ID!) { conversation(id: $id) { participants { id } messages { edges { node { reactions { emoji } } } } } }`,
        { id: group.id },
      ),
    ).conversation;
    expect(ids(forB.participants)).toEqual(ids([admin, a]));
    expect(forB.messages.edges[0].node.reactions).toEqual([{ emoji: '👋' }]);
  });

  it('should let someone added again keep what they had before, without what came while they were away', async () => {
    const [admin, a, back] = await Promise.all([person('gz'), person('gz'), person('gz')]);
    const group = await createGroup(admin, [a, back]);
    const before = await sendInto(admin, group.id, 'before leaving');
    ok(await mutate(admin, REMOVE, { id: group.id, memberId: back.id }));
    const away = await sendInto(a, group.id, 'while away');
    ok(await mutate(admin, ADD, { id: group.id, memberIds: [back.id] }));
    const again = await sendInto(admin, group.id, 'welcome back');

    const history = await conversation(back, group.id);
    expect(history!.messages.edges.map((edge) => edge.node.id)).toEqual([before.id, again.id]);
    expect(history!.lastMessage).toMatchObject({ id: again.id });
    const replay = subscribe(stack.wsClient(back.token), MESSAGES, { after: '0' });
    // The next message of theirs is one they send now: everything before it is the replay.
    const mine = await sendInto(back, group.id, 'glad to be back');
    await replay.waitFor(3);
    expect(replay.events.map((event) => event.directMessageReceived.id)).toEqual([before.id, again.id, mine.id]);
    expectError(await mutate(back, REACT, { id: away.id, emoji: '👀' }), 'NOT_FOUND');
  });

  it('should leave no rights to an admin who left last, and answer a removed member’s retry with their first message', async () => {
    const [admin, a, b] = await Promise.all([person('gy'), person('gy'), person('gy')]);
    const group = await createGroup(admin, [a, b]);
    const first = await sendInto(b, group.id, 'once', 'retry-after-removal');
    ok(await mutate(admin, REMOVE, { id: group.id, memberId: b.id }));
    expect((await sendInto(b, group.id, 'once', 'retry-after-removal')).id).toBe(first.id);
    expectError(await mutate(b, SEND_MESSAGE, { input: { conversationId: group.id, text: 'new' } }), 'FORBIDDEN');
    expectError(await mutate(admin, ADD, { id: group.id, memberIds: [] }), 'BAD_USER_INPUT');

    for (const member of [a, admin]) ok(await mutate(member, LEAVE, { id: group.id }));
    expectError(await mutate(admin, RENAME, { id: group.id, title: 'still mine?' }), 'FORBIDDEN');
    expectError(await mutate(admin, ADD, { id: group.id, memberIds: [b.id] }), 'FORBIDDEN');
  });
});

describe('privacy', () => {
  it('should show a non-member nothing: null for the conversation, NOT_FOUND for every mutation, null entities', async () => {
    const [creator, a, former, outsider] = await Promise.all([person('gp'), person('gp'), person('gp'), person('gp')]);
    const group = await createGroup(creator, [a, former]);
    const before = await sendInto(creator, group.id, 'for members');
    ok(await mutate(creator, REMOVE, { id: group.id, memberId: former.id }));
    const after = await sendInto(creator, group.id, 'after the removal');

    expect(await conversation(outsider, group.id)).toBeNull();
    for (const [document, variables] of [
      [SEND_MESSAGE, { input: { conversationId: group.id, text: 'let me in' } }],
      [RENAME, { id: group.id, title: 'mine' }],
      [ADD, { id: group.id, memberIds: [outsider.id] }],
      [REMOVE, { id: group.id, memberId: a.id }],
      [LEAVE, { id: group.id }],
      [MARK_SEEN, { id: group.id }],
      [REACT, { id: before.id, emoji: '👍' }],
      [UNSEND, { id: before.id }],
    ] as const) {
      expectError(await mutate(outsider, document, variables), 'NOT_FOUND');
    }

    const entities = async (viewer: TestUser, representations: Record<string, unknown>[]) =>
      ok(
        await onSubgraph(
          stack,
          'messaging',
          viewer,
          `#graphql
          query ($representations: [_Any!]!) {
            _entities(representations: $representations) { ... on Conversation { id } ... on Message { id text } }
          }`,
          { representations },
        ),
      )._entities as unknown[];
    const group_ = { __typename: 'Conversation', id: group.id };
    const message = (id: string) => ({ __typename: 'Message', id });
    expect(await entities(outsider, [group_, message(before.id), message(after.id)])).toEqual([null, null, null]);
    expect(await entities(former, [group_, message(before.id), message(after.id)])).toEqual([
      { id: group.id },
      { id: before.id, text: 'for members' },
      null,
    ]);
  });

  it('should never open a group from the Message button, which stays one-to-one', async () => {
    const [viewer, profileOwner, third] = await Promise.all([person('gx'), person('gx'), person('gx')]);
    ok(await mutate(profileOwner, JOIN_THREADS, {}));
    const group = await createGroup(viewer, [profileOwner, third]);
    await sendInto(profileOwner, group.id, 'in the group');
    const BUTTON = `#graphql
      query ($username: String!) { profile(username: $username) { messageAction { enabled conversation { id } } } }`;
    const button = async () =>
      ok(await stack.query(BUTTON, { username: profileOwner.username }, { token: viewer.token })).profile.messageAction;
    expect(await button()).toEqual({ enabled: true, conversation: null });
    const direct = await sent(viewer, profileOwner, 'just us');
    expect(await button()).toEqual({ enabled: true, conversation: { id: direct.conversation.id } });
  });

  it('should read an inbox page with groups in the same number of statements whatever its length', async () => {
    const me = await person('gq');
    const others = await Promise.all(Array.from({ length: 8 }, () => person('gq')));
    for (let index = 0; index < 6; index += 2) {
      const group = await createGroup(me, [others[index]!, others[index + 1]!]);
      await sendInto(others[index]!, group.id, 'hi');
      await sent(me, others[index]!, 'direct');
    }
    const PAGE = `#graphql
      query Page($first: Int) {
        inbox(first: $first) {
          edges { node { id kind title admin { id } viewerIsMember folder unreadCount lastActivityAt
            participants { id username }
            lastMessage { id text sender { id } reactions { emoji } seenBy { id } }
            messages(last: 3) { edges { node { id text reactions { emoji } seenBy { id } } } } } }
        }
      }`;
    const cost = (first: number) => inboxPageStatements(stack, me, PAGE, first);
    const small = await cost(2);
    const large = await cost(6);
    expect(Math.abs(large - small)).toBeLessThanOrEqual(2);
  });
});
