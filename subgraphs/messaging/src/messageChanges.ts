// Changes to a stored message: a person's reaction, and its sender unsending it. Each reaches every member live.
import { and, eq } from 'drizzle-orm';
import { badUserInput, forbidden, notFound } from '@igt/common';
import { changeConversation, type ConversationChangeServices, type LockedConversation } from './conversationChanges.js';
import * as schema from './db/schema.js';
import type { MessageModel } from './models.js';

const { messages, reactions } = schema;

/** Longest reaction, in code points: one emoji can be several (skin tone, ZWJ sequences). */
const MAX_EMOJI_LENGTH = 16;

/** One emoji as a reaction, trimmed; BAD_USER_INPUT otherwise. */
export function validateEmoji(emoji: string): string {
  const value = emoji.trim();
  if (!value || [...value].length > MAX_EMOJI_LENGTH || /\s/.test(value)) {
    throw badUserInput(`\`emoji\` must be one emoji (1–${MAX_EMOJI_LENGTH} characters, no spaces).`, 'emoji');
  }
  return value;
}

/**
 * The message as it stands under the conversation's lock (an unsend may have committed since it was read), provided
 * the viewer is still a member: someone who left a group keeps what they had but changes nothing.
 */
async function lockedMessage({ tx, members }: LockedConversation, viewerId: number, message: MessageModel) {
  if (!members.includes(viewerId)) throw forbidden('You are no longer a member of this conversation.');
  const [row] = await tx.select().from(messages).where(eq(messages.id, message.id));
  if (!row) throw notFound(`There is no message with id ${message.id} in your conversations.`);
  return row;
}

/**
 * Sets the viewer's reaction to `message` (replacing theirs), or removes it when `emoji` is null. Every member gets a
 * REACTION_CHANGED event, unless nothing changed (the same reaction again, or removing one there was none of).
 */
export async function setReaction(
  services: ConversationChangeServices,
  viewerId: number,
  message: MessageModel,
  emoji: string | null,
): Promise<void> {
  await changeConversation(services, message.conversationId, async (locked) => {
    const current = await lockedMessage(locked, viewerId, message);
    const { tx, members } = locked;
    const mine = and(eq(reactions.messageId, message.id), eq(reactions.userId, viewerId));
    if (emoji === null) {
      const removed = await tx.delete(reactions).where(mine).returning({ userId: reactions.userId });
      if (!removed.length) return { result: undefined, events: [] };
    } else {
      if (current.unsent) throw badUserInput('You cannot react to a message that was unsent.', 'messageId');
      const [same] = await tx
        .select({ emoji: reactions.emoji })
        .from(reactions)
        .where(and(mine, eq(reactions.emoji, emoji)));
      if (same) return { result: undefined, events: [] };
      await tx
        .insert(reactions)
        .values({ messageId: message.id, userId: viewerId, emoji })
        .onConflictDoUpdate({ target: [reactions.messageId, reactions.userId], set: { emoji, reactedAt: new Date() } });
    }
    const details = {
      conversationId: message.conversationId,
      kind: 'REACTION_CHANGED',
      actorId: viewerId,
      messageId: message.id,
      emoji,
    } as const;
    return { result: undefined, events: [{ recipients: members, details }] };
  });
}

/**
 * Unsends one of the viewer's own messages: its text is erased from storage, not just hidden, and its reactions go
 * with it; every member gets a MESSAGE_UNSENT event. FORBIDDEN for someone else's message; unsending twice changes
 * nothing. Returns the message as stored now.
 */
export async function unsendMessage(
  services: ConversationChangeServices,
  viewerId: number,
  message: MessageModel,
): Promise<MessageModel> {
  if (message.senderId !== viewerId) throw forbidden('Only the sender can unsend a message.');
  const unsent = await changeConversation(services, message.conversationId, async (locked) => {
    const current = await lockedMessage(locked, viewerId, message);
    if (current.unsent) return { result: current, events: [] };
    const { tx, members } = locked;
    const [row] = await tx
      .update(messages)
      .set({ text: '', unsent: true, unsentAt: new Date() })
      .where(eq(messages.id, message.id))
      .returning();
    await tx.delete(reactions).where(eq(reactions.messageId, message.id));
    const details = {
      conversationId: message.conversationId,
      kind: 'MESSAGE_UNSENT',
      actorId: viewerId,
      messageId: message.id,
    } as const;
    return { result: row!, events: [{ recipients: members, details }] };
  });
  if (!unsent) throw notFound(`There is no message with id ${message.id} in your conversations.`);
  return unsent;
}
