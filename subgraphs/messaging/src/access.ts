/** The viewer's own conversations and messages for mutations (anyone else's is NOT_FOUND), and parsing `after`. */
import { badUserInput, notFound, parseId, reload, requireViewer } from '@igt/common';
import type { Context } from './context.js';
import type { ConversationModel, MessageModel } from './models.js';

/** What a mutation on a conversation that is not the viewer's answers, whatever the reason. */
const noSuchConversation = (conversationId: string) => notFound(`You have no conversation with id ${conversationId}.`);

/**
 * One of the viewer's conversations for a mutation. Someone else's is NOT_FOUND, exactly like one that does not
 * exist, so a mutation cannot be used to probe which conversations exist.
 */
export async function viewersConversation(context: Context, conversationId: string): Promise<ConversationModel> {
  requireViewer(context);
  const conversation = await context.loaders.conversationById.load(parseId(conversationId, 'conversationId'));
  if (!conversation) throw noSuchConversation(conversationId);
  return conversation;
}

/**
 * One of the viewer's conversations that they are still a member of. One they left (or were removed from) is
 * NOT_FOUND, exactly like one that does not exist: it is theirs to read, not to act in.
 */
export async function viewersCurrentConversation(context: Context, conversationId: string): Promise<ConversationModel> {
  const conversation = await viewersConversation(context, conversationId);
  if (conversation.side.leftAt !== null) throw noSuchConversation(conversationId);
  return conversation;
}

/** A message in one of the viewer's conversations, for a mutation; anything else is NOT_FOUND. */
export async function viewersMessage(context: Context, messageId: string): Promise<MessageModel> {
  requireViewer(context);
  const message = await context.loaders.messageById.load(parseId(messageId, 'messageId'));
  if (!message) throw notFound(`There is no message with id ${messageId} in your conversations.`);
  return message;
}

/** Re-reads a conversation after a change (the request's loaders may hold the old side). */
export function reloadConversation({ loaders }: Context, id: number): Promise<ConversationModel> {
  loaders.unreadCountByConversationId.clear(id);
  return reload(loaders.conversationById, id, 'conversation');
}

/** A subscription's `after`: a non-negative id of `what` (0 replays everything). */
export function parseAfter(value: string | number | null | undefined, what: string): number | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (!/^\d{1,15}$/.test(text))
    throw badUserInput(`\`after\` must be ${what}, got ${JSON.stringify(text.slice(0, 40))}.`, 'after');
  return Number(text);
}
