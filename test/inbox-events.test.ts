/** inboxEvents through the gateway: every stored change to a conversation arrives live, resumes exactly once, hides. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoId } from '@igt/common';
import { BLOCK } from './support/documents.js';
import { mutualPair, sendDm } from './support/dms.js';
import {
  eventually,
  expectError,
  ok,
  startStack,
  subscribe,
  type GraphQLResponse,
  type TestStack,
  type TestUser,
} from './support/harness.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterEach(async () => {
  await stack.closeClients();
});

afterAll(async () => {
  await stack?.close();
});

/** Every kind of event, with a field from Instagram (the actor's username) on each. */
const INBOX_EVENTS = `#graphql
  subscription InboxEvents($after: ID) {
    inboxEvents(after: $after) {
      __typename position at
      actor { username }
      conversation { id folder }
      ... on MessageSentEvent { message { id text } }
      ... on ReactionChangedEvent { emoji message { id } }
      ... on ConversationSeenEvent { lastSeenMessage { id } }
      ... on MessageUnsentEvent { message { id text unsent } }
      ... on ConversationFiledEvent { change folder }
    }
  }`;

interface InboxEvent {
  __typename: string;
  position: string;
  at: string;
  actor: { username: string };
  conversation: { id: string; folder: string };
  message?: { id: string; text?: string; unsent?: boolean };
  emoji?: string | null;
  lastSeenMessage?: { id: string } | null;
  change?: string;
  folder?: string;
}

/** Subscribes `who` to their inbox events (wait with `stack.liveSubscriptions` before relying on live delivery). */
const inboxOf = (who: TestUser, after?: string) =>
  subscribe<{ inboxEvents: InboxEvent }>(stack.wsClient(who.token), INBOX_EVENTS, after === undefined ? {} : { after });

const REACT = `#graphql
  mutation React($messageId: ID!, $emoji: String) { reactToMessage(messageId: $messageId, emoji: $emoji) { id } }`;
const SEEN = `#graphql
  mutation Seen($conversationId: ID!) { markConversationSeen(conversationId: $conversationId) { id } }`;
const UNSEND = `#graphql
  mutation Unsend($messageId: ID!) { unsendMessage(messageId: $messageId) { id } }`;
const MOVE = `#graphql
  mutation Move($conversationId: ID!, $folder: InboxFolder!) {
    moveConversation(conversationId: $conversationId, folder: $folder) { id }
  }`;
const ACCEPT = `#graphql
  mutation Accept($conversationId: ID!) { acceptMessageRequest(conversationId: $conversationId) { id } }`;
const DECLINE = `#graphql
  mutation Decline($conversationId: ID!) { declineMessageRequest(conversationId: $conversationId) }`;

const events = (subscription: { events: { inboxEvents: InboxEvent }[] }) =>
  subscription.events.map((event) => event.inboxEvents);

/** The kinds and actors of `list`, to compare sequences at a glance. */
const summary = (list: InboxEvent[]) => list.map((event) => `${event.__typename}:${event.actor.username}`);

describe('inboxEvents', () => {
  it('should deliver messages, reactions, read receipts and unsends live to both people, with their actors resolved', async () => {
    const [a, b] = await mutualPair(stack);
    const first = await sendDm(stack, a, b.id, 'first');
    const conversationId = ok(await stack.query(`{ inbox { edges { node { id } } } }`, {}, { token: b.token })).inbox
      .edges[0].node.id as string;
    const [ofA, ofB] = [inboxOf(a), inboxOf(b)];
    await stack.liveSubscriptions(2);

    const second = await sendDm(stack, a, b.id, 'second');
    ok(await stack.query(REACT, { messageId: second.id, emoji: '🔥' }, { token: b.token }));
    ok(await stack.query(SEEN, { conversationId }, { token: b.token }));
    ok(await stack.query(REACT, { messageId: second.id, emoji: null }, { token: b.token }));
    ok(await stack.query(UNSEND, { messageId: first.id }, { token: a.token }));

    const expected = [
      `MessageSentEvent:${a.username}`,
      `ReactionChangedEvent:${b.username}`,
      `ConversationSeenEvent:${b.username}`,
      `ReactionChangedEvent:${b.username}`,
      `MessageUnsentEvent:${a.username}`,
    ];
    for (const subscription of [ofA, ofB]) {
      await subscription.waitFor(expected.length);
      const list = events(subscription);
      expect(summary(list)).toEqual(expected);
      expect(list[0]!.message).toEqual({ id: second.id, text: 'second' });
      expect(list[1]).toMatchObject({ emoji: '🔥', message: { id: second.id } });
      expect(list[2]!.lastSeenMessage).toEqual({ id: second.id });
      expect(list[3]).toMatchObject({ emoji: null, message: { id: second.id } });
      expect(list[4]!.message).toEqual({ id: first.id, text: '', unsent: true });
      expect(new Set(list.map((event) => event.conversation.id))).toEqual(new Set([conversationId]));
      const positions = list.map((event) => Number(event.position));
      expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    }
    expect(ofA.errors).toEqual([]);
  });

  it('should replay every event after `after` exactly once and in order, then continue live', async () => {
    const [a, b] = await mutualPair(stack);
    const live = inboxOf(b);
    await stack.liveSubscriptions(1);
    const first = await sendDm(stack, a, b.id, 'one');
    await live.waitFor(1);
    const resumeFrom = events(live)[0]!.position;
    live.unsubscribe();

    // While b is away: a send, two reactions (the second replacing the first), and a reaction removed.
    const second = await sendDm(stack, a, b.id, 'two');
    ok(await stack.query(REACT, { messageId: first.id, emoji: '👍' }, { token: a.token }));
    ok(await stack.query(REACT, { messageId: first.id, emoji: '😂' }, { token: a.token }));
    ok(await stack.query(REACT, { messageId: first.id, emoji: null }, { token: a.token }));

    const resumed = inboxOf(b, resumeFrom);
    await resumed.waitFor(4);
    await stack.liveSubscriptions(1);
    ok(await stack.query(REACT, { messageId: second.id, emoji: '❤️' }, { token: b.token }));
    await resumed.waitFor(5);
    const list = events(resumed);
    expect(list.map((event) => [event.__typename, 'emoji' in event ? event.emoji : event.message?.text])).toEqual([
      ['MessageSentEvent', 'two'],
      ['ReactionChangedEvent', '👍'],
      ['ReactionChangedEvent', '😂'],
      ['ReactionChangedEvent', null],
      ['ReactionChangedEvent', '❤️'],
    ]);
    expect(list.every((event) => Number(event.position) > Number(resumeFrom))).toBe(true);

    // From 0, the whole log: the first send's event too, and nothing twice.
    const everything = inboxOf(b, '0');
    await everything.waitFor(6);
    expect(events(everything).map((event) => event.position)).toEqual([resumeFrom, ...list.map((e) => e.position)]);
  });

  it('should keep concurrent changes in one gapless order per person, live as on replay', async () => {
    const [a, b] = await mutualPair(stack);
    const seed = await sendDm(stack, a, b.id, 'seed');
    const live = inboxOf(b);
    await stack.liveSubscriptions(1);
    const writes = [
      ...Array.from({ length: 6 }, (_, i) => () => sendDm(stack, i % 2 ? a : b, i % 2 ? b.id : a.id, `m${i}`)),
      () => stack.query(REACT, { messageId: seed.id, emoji: '1️⃣' }, { token: a.token }),
      () => stack.query(REACT, { messageId: seed.id, emoji: '2️⃣' }, { token: b.token }),
    ];
    await Promise.all(writes.map((write) => write()));
    await live.waitFor(writes.length);
    const replay = inboxOf(b, '0');
    await replay.waitFor(writes.length + 1);
    const livePositions = events(live).map((event) => event.position);
    expect(
      events(replay)
        .slice(1)
        .map((event) => event.position),
    ).toEqual(livePositions);
    // Each event's time is taken under the locks that give it its position: times follow positions.
    const times = events(live).map((event) => Date.parse(event.at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });

  it('should tell only the viewer’s own devices that a request was accepted, declined or moved', async () => {
    const [stranger, person] = [await stack.signUp('st'), await stack.signUp('pe')];
    await sendDm(stack, stranger, person.id, 'hello?');
    const conversationId = ok(
      await stack.query(`{ inbox(folder: REQUESTS) { edges { node { id } } } }`, {}, { token: person.token }),
    ).inbox.edges[0].node.id as string;
    const [ofStranger, ofPerson] = [inboxOf(stranger), inboxOf(person)];
    await stack.liveSubscriptions(2);

    ok(await stack.query(DECLINE, { conversationId }, { token: person.token }));
    ok(await stack.query(ACCEPT, { conversationId }, { token: person.token }));
    ok(await stack.query(MOVE, { conversationId, folder: 'GENERAL' }, { token: person.token }));
    await sendDm(stack, stranger, person.id, 'still there?');

    await ofPerson.waitFor(4);
    expect(events(ofPerson).map((event) => [event.__typename, event.change, event.folder])).toEqual([
      ['ConversationFiledEvent', 'DECLINED', 'REQUESTS'],
      ['ConversationFiledEvent', 'ACCEPTED', 'PRIMARY'],
      ['ConversationFiledEvent', 'MOVED', 'GENERAL'],
      ['MessageSentEvent', undefined, undefined],
    ]);
    // The stranger's next event is their own message: nothing of the filing reached them.
    await ofStranger.waitFor(1);
    expect(summary(events(ofStranger))).toEqual([`MessageSentEvent:${stranger.username}`]);
  });

  it('should hide what someone who blocked the viewer does, live and on replay', async () => {
    const [a, b] = await mutualPair(stack);
    const message = await sendDm(stack, b, a.id, 'from b');
    const ofB = inboxOf(b);
    await stack.liveSubscriptions(1);
    ok(await stack.query(BLOCK, { userId: b.id }, { token: a.token }));
    // a blocked b: a's reaction is hidden from b; b's own reaction still reaches b.
    ok(await stack.query(REACT, { messageId: message.id, emoji: '🙈' }, { token: a.token }));
    ok(await stack.query(REACT, { messageId: message.id, emoji: '🙂' }, { token: b.token }));
    await ofB.waitFor(1);
    expect(events(ofB).map((event) => [event.actor.username, event.emoji])).toEqual([[b.username, '🙂']]);
    const replay = inboxOf(b, '0');
    await replay.waitFor(2);
    expect(summary(events(replay))).toEqual([`MessageSentEvent:${b.username}`, `ReactionChangedEvent:${b.username}`]);
  });

  it('should replay the demo conversations’ messages, reactions and read receipts from position 0', async () => {
    const alice = { id: '', username: 'alice', token: await stack.login('alice') };
    const replay = inboxOf(alice, '0');
    // A message sent now is the next event: everything before it is the demo's.
    await sendDm(stack, 'alice', String(demoId('dave')), 'the end of the demo');
    await eventually(() => events(replay).some((event) => event.message?.text === 'the end of the demo'));
    const list = events(replay).slice(0, -1);
    const kinds = (typename: string) => list.filter((event) => event.__typename === typename);
    // Two one-to-one conversations (8 messages, 3 reactions, 4 receipts) and the group (created, 3 messages, 2
    // reactions, 3 receipts); Dave's request to Carol is not alice's.
    expect(kinds('MessageSentEvent')).toHaveLength(11);
    expect(kinds('ReactionChangedEvent').map((e) => [e.actor.username, e.emoji])).toEqual([
      ['alice', '❤️'],
      ['alice', '🥹'],
      ['carol', '🙌'],
      ['alice', '☕'],
      ['bob', '🙌'],
    ]);
    expect(kinds('ConversationSeenEvent').map((e) => e.actor.username)).toEqual([
      'alice',
      'bob',
      'alice',
      'carol',
      'alice',
      'carol',
      'bob',
    ]);
    expect(list).toHaveLength(11 + 5 + 7 + 1);
  });

  it('should record a reply to a request as its acceptance, for the replier only', async () => {
    const [stranger, person] = [await stack.signUp('rs'), await stack.signUp('rp')];
    await sendDm(stack, stranger, person.id, 'hello?');
    await sendDm(stack, person, stranger.id, 'hi!');
    const [ofPerson, ofStranger] = [inboxOf(person, '0'), inboxOf(stranger, '0')];
    await ofPerson.waitFor(3);
    expect(events(ofPerson).map((event) => [event.__typename, event.actor.username, event.change])).toEqual([
      ['MessageSentEvent', stranger.username, undefined],
      ['MessageSentEvent', person.username, undefined],
      ['ConversationFiledEvent', person.username, 'ACCEPTED'],
    ]);
    // The stranger's log: the two messages, then their own next message; no filing of the person's.
    await sendDm(stack, stranger, person.id, 'great');
    await ofStranger.waitFor(3);
    expect(summary(events(ofStranger))).toEqual([
      `MessageSentEvent:${stranger.username}`,
      `MessageSentEvent:${person.username}`,
      `MessageSentEvent:${stranger.username}`,
    ]);
  });

  it('should record nothing for a change that changes nothing', async () => {
    const [a, b] = await mutualPair(stack);
    const message = await sendDm(stack, a, b.id, 'same again');
    const conversationId = ok(await stack.query(`{ inbox { edges { node { id } } } }`, {}, { token: b.token })).inbox
      .edges[0].node.id as string;
    for (let i = 0; i < 3; i += 1) {
      ok(await stack.query(REACT, { messageId: message.id, emoji: '👍' }, { token: b.token }));
      ok(await stack.query(REACT, { messageId: message.id, emoji: null }, { token: a.token }));
      ok(await stack.query(MOVE, { conversationId, folder: 'PRIMARY' }, { token: b.token }));
    }
    ok(await stack.query(MOVE, { conversationId, folder: 'GENERAL' }, { token: b.token }));
    // A message sent now is the next event: everything the changes recorded comes before it.
    await sendDm(stack, a, b.id, 'last');
    const replay = inboxOf(b, '0');
    await eventually(() => events(replay).filter((e) => e.__typename === 'MessageSentEvent').length === 2);
    expect(summary(events(replay))).toEqual([
      `MessageSentEvent:${a.username}`,
      `ReactionChangedEvent:${b.username}`,
      `ConversationFiledEvent:${b.username}`,
      `MessageSentEvent:${a.username}`,
    ]);
  });

  it('should decide concurrent accepts and a decline on the side as it stands, recording each change once', async () => {
    for (let round = 0; round < 3; round += 1) {
      const [stranger, person] = [await stack.signUp('cs'), await stack.signUp('cp')];
      await sendDm(stack, stranger, person.id, 'hi');
      const conversationId = ok(
        await stack.query(`{ inbox(folder: REQUESTS) { edges { node { id } } } }`, {}, { token: person.token }),
      ).inbox.edges[0].node.id as string;
      const [, , decline] = (await Promise.all(
        [ACCEPT, ACCEPT, DECLINE].map((document) => stack.query(document, { conversationId }, { token: person.token })),
      )) as [GraphQLResponse, GraphQLResponse, GraphQLResponse];
      // A message sent now is the next event: everything the three recorded comes before it.
      await sendDm(stack, stranger, person.id, 'anyone?');
      const replay = inboxOf(person, '0');
      await eventually(() => events(replay).filter((e) => e.__typename === 'MessageSentEvent').length === 2);
      const recorded = events(replay)
        .slice(1, -1)
        .map((event) => event.change);
      // In whatever order they ran: accept, accept (nothing to do), decline (refused: not a request any more); or
      // decline, accept, accept (nothing to do).
      if (decline.errors) {
        expectError(decline, 'BAD_USER_INPUT');
        expect(recorded).toEqual(['ACCEPTED']);
      } else {
        expect(recorded).toEqual(['DECLINED', 'ACCEPTED']);
      }
      const { conversation } = ok(
        await stack.query(
          `query C($id: ID!) { conversation(id: $id) { folder } }`,
          { id: conversationId },
          {
            token: person.token,
          },
        ),
      );
      expect(conversation.folder).toBe('PRIMARY');
    }
  });

  it('should not pass on what someone does right after blocking the viewer', async () => {
    const [a, b] = await mutualPair(stack);
    const mine = await sendDm(stack, a, b.id, 'unseen by b');
    const conversationId = ok(await stack.query(`{ inbox { edges { node { id } } } }`, {}, { token: b.token })).inbox
      .edges[0].node.id as string;
    const ofA = inboxOf(a);
    await stack.liveSubscriptions(1);
    ok(await stack.query(BLOCK, { userId: a.id }, { token: b.token }));
    ok(await stack.query(SEEN, { conversationId }, { token: b.token }));
    ok(await stack.query(REACT, { messageId: mine.id, emoji: '📌' }, { token: a.token }));
    await ofA.waitFor(1);
    expect(summary(events(ofA))).toEqual([`ReactionChangedEvent:${a.username}`]);
  });

  it('should keep the viewer’s own read receipt when the message it reaches is hidden from them', async () => {
    const [a, b] = await mutualPair(stack);
    await sendDm(stack, b, a.id, 'then I block you');
    const conversationId = ok(await stack.query(`{ inbox { edges { node { id } } } }`, {}, { token: a.token })).inbox
      .edges[0].node.id as string;
    ok(await stack.query(BLOCK, { userId: a.id }, { token: b.token }));
    ok(await stack.query(SEEN, { conversationId }, { token: a.token }));
    const replay = subscribe<{ inboxEvents: InboxEvent }>(
      stack.wsClient(a.token),
      `subscription { inboxEvents(after: "0") { __typename actor { id } ... on ConversationSeenEvent { lastSeenMessage { id } } } }`,
    );
    await replay.waitFor(1);
    expect(replay.events.map((event) => event.inboxEvents)).toEqual([
      { __typename: 'ConversationSeenEvent', actor: { id: a.id }, lastSeenMessage: null },
    ]);
  });

  it('should refuse an `after` past the viewer’s newest position instead of waiting silently', async () => {
    const [a, b] = await mutualPair(stack);
    await sendDm(stack, a, b.id, 'one');
    const newest = inboxOf(b, '0');
    await newest.waitFor(1);
    const head = Number(events(newest)[0]!.position);
    const ahead = subscribe(stack.wsClient(b.token), INBOX_EVENTS, { after: String(head + 1) });
    await ahead.ended();
    expect(ahead.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const messagesAhead = subscribe(
      stack.wsClient(b.token),
      `subscription { directMessageReceived(after: "999999999999999") { id } }`,
    );
    await messagesAhead.ended();
    expect(messagesAhead.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('should refuse anonymous subscribers and an `after` that is not a position', async () => {
    const anonymous = subscribe(stack.wsClient(), INBOX_EVENTS);
    await anonymous.ended();
    expect(anonymous.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const person = await stack.signUp('af');
    const bad = subscribe(stack.wsClient(person.token), INBOX_EVENTS, { after: 'yesterday' });
    await bad.ended();
    expect(bad.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expectError(
      await stack.query(REACT, { messageId: '1', emoji: 'two words' }, { token: person.token }),
      'BAD_USER_INPUT',
    );
  });
});
