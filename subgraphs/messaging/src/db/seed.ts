// Messaging's demo data: conversations and a group among the demo people, loaded into an empty database on first start.
import { and, count, eq } from 'drizzle-orm';
import { demoId, type Db } from '@igt/common';
import { lockMailboxes } from '../conversationChanges.js';
import { storeGroup, storeGroupMessage } from '../groups.js';
import { appendInboxEvents } from '../inboxEvents.js';
import { deliverMessage, type InboxFolder, type MessageSource, type Tx } from '../mailbox.js';
import * as schema from './schema.js';

const { conversations, participants, reactions } = schema;

/** What people did with a demo conversation's messages once they were sent. */
interface DemoActivity {
  /** How many of the messages each person has seen, counting from the first. */
  seen: Record<string, number>;
  /** Reactions: who, to which message (counting from 0), with what. */
  reactions?: [person: string, message: number, emoji: string][];
}

interface DemoConversation extends DemoActivity {
  /** Where the first message lands for its recipient (what a follow would have decided). */
  recipientFolder: InboxFolder;
  messages: [sender: string, recipient: string, text: string, source?: MessageSource][];
}

/** The demo group: its admin creates it with the others, all of whom follow her, so it is in everyone's PRIMARY. */
const GROUP = {
  title: 'Studio crew',
  admin: 'alice',
  others: ['bob', 'carol'],
  messages: [
    ['alice', 'Kiln opens at 10 on Saturday. Who is in?'],
    ['carol', 'Me! Bringing your mugs back.'],
    ['bob', 'In. Coffee is on me again ☕'],
  ],
  seen: { alice: 3, carol: 3, bob: 2 },
  reactions: [
    ['alice', 2, '☕'],
    ['bob', 1, '🙌'],
  ],
} satisfies DemoActivity & { title: string; admin: string; others: string[]; messages: [string, string][] };

/**
 * Seeds the reactions and read receipts of conversation `conversationId` among `people`, whose messages took `ids`,
 * into its tables and everyone's event logs, as the mutations would have.
 */
async function seedActivity(
  tx: Tx,
  conversationId: number,
  people: number[],
  ids: number[],
  { seen, reactions: reacted = [] }: DemoActivity,
) {
  await lockMailboxes(tx, people);
  for (const [person, message, emoji] of reacted) {
    const [userId, messageId] = [demoId(person), ids[message]!];
    await tx.insert(reactions).values({ messageId, userId, emoji });
    const details = { conversationId, kind: 'REACTION_CHANGED', actorId: userId, messageId, emoji } as const;
    await appendInboxEvents(tx, [{ recipients: people, details }]);
  }
  for (const [person, howMany] of Object.entries(seen)) {
    const [userId, messageId] = [demoId(person), ids[howMany - 1]!];
    await tx
      .update(participants)
      .set({ lastSeenMessageId: messageId })
      .where(and(eq(participants.conversationId, conversationId), eq(participants.userId, userId)));
    const details = { conversationId, kind: 'CONVERSATION_SEEN', actorId: userId, messageId } as const;
    await appendInboxEvents(tx, [{ recipients: people, details }]);
  }
}

const CONVERSATIONS: DemoConversation[] = [
  {
    recipientFolder: 'PRIMARY',
    messages: [
      ['alice', 'bob', 'Are you coming to the studio on Saturday?'],
      ['bob', 'alice', 'Yes! I will bring coffee.'],
      ['alice', 'bob', 'Perfect. I am firing the kiln at 10.'],
      ['bob', 'alice', 'Just saw your glaze thread. That blue is unreal 😍', 'THREADS'],
      ['bob', 'alice', 'Can I buy the bowl on the left?'],
    ],
    seen: { alice: 3, bob: 5 },
    reactions: [
      ['alice', 1, '❤️'],
      ['alice', 3, '🥹'],
    ],
  },
  {
    recipientFolder: 'PRIMARY',
    messages: [
      ['carol', 'alice', 'Could I borrow two of your mugs for a shoot next week?'],
      ['alice', 'carol', 'Of course! Come by on Thursday.'],
      ['carol', 'alice', 'Thank you! 🙏'],
    ],
    seen: { alice: 2, carol: 3 },
    reactions: [['carol', 1, '🙌']],
  },
  {
    // Carol does not follow Dave: his first message is a request.
    recipientFolder: 'REQUESTS',
    messages: [
      ['dave', 'carol', 'Hi Carol! Loved your Stockholm series. Do you take commissions?'],
      ['dave', 'carol', 'I found you through your Threads post about the archipelago.', 'THREADS'],
    ],
    seen: {},
  },
];

/** Loads demo conversations and a group among the demo people into an empty database (first start only). */
export async function seedDemoData(db: Db<typeof schema>): Promise<boolean> {
  const [existing] = await db.select({ n: count() }).from(conversations);
  if (existing && existing.n > 0) return false;
  const start = Date.now() - 2 * 24 * 3600 * 1000;
  let minute = 0;
  await db.transaction(async (tx) => {
    for (const { recipientFolder, messages, ...activity } of CONVERSATIONS) {
      const ids: number[] = [];
      let conversationId = 0;
      for (const [sender, recipient, text, source = 'INSTAGRAM'] of messages) {
        minute += 17;
        const delivery = await deliverMessage(tx, {
          senderId: demoId(sender),
          recipientId: demoId(recipient),
          text,
          source,
          sentAt: new Date(start + minute * 60_000),
          recipientFolder,
        });
        if (delivery.kind !== 'delivered') throw new Error('seedDemoData: a seeded message was taken for a retry');
        ids.push(delivery.message.id);
        conversationId = delivery.conversation.id;
      }
      const people = [...new Set(messages.flatMap(([sender, recipient]) => [demoId(sender), demoId(recipient)]))];
      await seedActivity(tx, conversationId, people, ids, activity);
    }

    const members = [GROUP.admin, ...GROUP.others].map(demoId);
    await lockMailboxes(tx, members);
    const { conversation: group } = await storeGroup(tx, {
      creatorId: demoId(GROUP.admin),
      memberIds: GROUP.others.map(demoId),
      title: GROUP.title,
      idempotencyKey: null,
      folders: new Map(GROUP.others.map((person) => [demoId(person), 'PRIMARY'])),
    });
    const ids: number[] = [];
    for (const [sender, text] of GROUP.messages) {
      minute += 17;
      const { delivered, events } = await storeGroupMessage(tx, group, members, {
        senderId: demoId(sender),
        text,
        idempotencyKey: null,
        sentAt: new Date(start + minute * 60_000),
      });
      await appendInboxEvents(tx, events);
      ids.push(delivered.message.id);
    }
    await seedActivity(tx, group.id, members, ids, GROUP);
  });
  return true;
}
