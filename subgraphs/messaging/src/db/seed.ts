// Messaging's demo data: conversations among the demo people, loaded into an empty database on first start.
import { and, count, eq } from 'drizzle-orm';
import { demoId, type Db } from '@igt/common';
import { lockMailboxes } from '../conversationChanges.js';
import { appendInboxEvents } from '../inboxEvents.js';
import { deliverMessage, type InboxFolder, type MessageSource } from '../mailbox.js';
import * as schema from './schema.js';

const { conversations, participants, reactions } = schema;

interface DemoConversation {
  /** Where the first message lands for its recipient (what a follow would have decided). */
  recipientFolder: InboxFolder;
  messages: [sender: string, recipient: string, text: string, source?: MessageSource][];
  /** How many of the messages each person has seen, counting from the first. */
  seen: Record<string, number>;
  /** Reactions: who, to which message (counting from 0), with what. */
  reactions?: [person: string, message: number, emoji: string][];
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

/** Loads demo conversations among the demo people into an empty database (first start only). */
export async function seedDemoData(db: Db<typeof schema>): Promise<boolean> {
  const [existing] = await db.select({ n: count() }).from(conversations);
  if (existing && existing.n > 0) return false;
  const start = Date.now() - 2 * 24 * 3600 * 1000;
  let minute = 0;
  await db.transaction(async (tx) => {
    for (const { recipientFolder, messages, seen, reactions: reacted = [] } of CONVERSATIONS) {
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
      // Reactions and read receipts are in both people's event logs, as the mutations would have put them.
      const people = [...new Set(messages.flatMap(([sender, recipient]) => [demoId(sender), demoId(recipient)]))];
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
  });
  return true;
}
