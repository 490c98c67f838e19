/** The Messaging subgraph's resolver map: one file per GraphQL type, merged here. */
import type { Resolvers } from '../generated/resolvers-types.js';
import { Conversation } from './Conversation.js';
import { inboxEventResolvers } from './InboxEvent.js';
import { Message } from './Message.js';
import { MessageAction } from './MessageAction.js';
import { Mutation } from './Mutation.js';
import { Query } from './Query.js';
import { Reaction } from './Reaction.js';
import { Subscription } from './Subscription.js';
import { TypingIndicator } from './TypingIndicator.js';

/** Every Messaging resolver, one file per GraphQL type. */
export const resolvers: Resolvers = {
  Query,
  Mutation,
  Subscription,
  Conversation,
  Message,
  MessageAction,
  Reaction,
  TypingIndicator,
  ...inboxEventResolvers,
};
