// Resolvers of Messaging's subscriptions: new direct messages and inbox events, replayed then live; typing indicators.
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { InboxEventModel, MessageModel, TypingIndicatorModel } from '../models.js';
import { requireViewer } from '@igt/common';
import { parseAfter } from '../access.js';

/**
 * Resolves `directMessageReceived` (stored messages after `after`, then live ones), `inboxEvents` (the same for
 * every stored change) and `typingIndicators` (live only). Each event gets fresh loaders, since one subscription
 * outlives many changes to what they would cache.
 */
export const Subscription: SubscriptionResolvers = {
  directMessageReceived: {
    async subscribe(_parent, { after }, context) {
      const viewerId = requireViewer(context);
      const afterId = parseAfter(after, 'a message id');
      // Someone subscribing to their inbox is a real account (the gateway vouched for them): make them reachable.
      await context.knownUsers.remember([viewerId]);
      // The replay leaves out what someone who blocked the viewer sent: with their latest blocks.
      await context.loaders.catchUpBlocks();
      return context.directMessages.open(viewerId, afterId);
    },
    // Runs once per event, before the event's fields resolve.
    resolve(message: MessageModel, _args: unknown, context: Context) {
      context.renewLoaders();
      return message;
    },
  },

  inboxEvents: {
    async subscribe(_parent, { after }, context) {
      const viewerId = requireViewer(context);
      const afterId = parseAfter(after, 'an inbox event position');
      await context.knownUsers.remember([viewerId]);
      // The log leaves out what someone who blocked the viewer did: with their latest blocks.
      await context.loaders.catchUpBlocks();
      return context.inboxEvents.open(viewerId, afterId);
    },
    resolve(event: InboxEventModel, _args: unknown, context: Context) {
      context.renewLoaders();
      return event;
    },
  },

  typingIndicators: {
    // Live only: indicators are never stored, so there is nothing to replay and no block to catch up with here
    // (setTyping already left out everyone blocked either way).
    subscribe(_parent, _args, context) {
      return context.typingIndicators.open(requireViewer(context));
    },
    resolve(indicator: TypingIndicatorModel, _args: unknown, context: Context) {
      context.renewLoaders();
      return indicator;
    },
  },
};
