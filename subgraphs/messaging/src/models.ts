/** What Messaging's resolvers receive as parents: the models codegen.json maps GraphQL types to. */
import type { Connection } from '@igt/common';
import type { conversations, inboxEvents, messages, participants, reactions } from './db/schema.js';

/** A Message as resolvers receive it: the stored row (text already emptied when unsent). */
export type MessageModel = typeof messages.$inferSelect;
/** A Reaction as resolvers receive it: the stored row. */
export type ReactionModel = typeof reactions.$inferSelect;
/** One person's side of a conversation, as stored. */
export type ParticipantRow = typeof participants.$inferSelect;
/** A conversation as stored, without anyone's side of it. */
export type ConversationRow = typeof conversations.$inferSelect;

/**
 * A Conversation as resolvers receive it: the conversation seen from one participant (the viewer), because folder,
 * unread count and declined state belong to a side, not to the conversation.
 */
export interface ConversationModel extends ConversationRow {
  /** The viewer's side. */
  side: ParticipantRow;
}

/** A User as Messaging knows it: only the id; the gateway resolves the rest from Instagram. */
export interface UserReference {
  id: string;
}

/** Messaging's part of the Message button: whether the viewer may message `recipientId`, and their conversation. */
export interface MessageActionModel {
  recipientId: string;
  enabled: boolean;
  disabledReason: 'SIGN_IN_REQUIRED' | 'SELF' | 'BLOCKED' | null;
  conversation: ConversationModel | null;
}

/** A page of the viewer's conversations. */
export type ConversationConnectionModel = Connection<ConversationModel>;
/** One conversation on a page, with its cursor. */
export type ConversationEdgeModel = ConversationConnectionModel['edges'][number];
/** A page of a conversation's messages, oldest first. */
export type MessageConnectionModel = Connection<MessageModel>;
/** One message on a page, with its cursor. */
export type MessageEdgeModel = MessageConnectionModel['edges'][number];
/** What a send returns: the stored message and the sender's side of its conversation. */
export interface SendDirectMessagePayloadModel {
  message: MessageModel;
  conversation: ConversationModel;
}

/** An InboxEvent (every implementation) as resolvers receive it: one row of the viewer's event log. */
export type InboxEventModel = typeof inboxEvents.$inferSelect;

/** A TypingIndicator as resolvers receive it: never stored, it travels over pub/sub. */
export interface TypingIndicatorModel {
  conversationId: number;
  userId: number;
  typing: boolean;
  /** When a `typing: true` indicator expires; null when `typing` is false. */
  expiresAt: Date | null;
}
