// Resolvers of Messaging's subscriptions: new direct messages in the viewer's inbox, replayed then live.
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { MessageModel } from '../models.js';
import { requireViewer } from '@igt/common';
import { parseAfter } from '../access.js';

/**
 * Resolves `directMessageReceived`: stored messages after `after`, then live ones. Each event gets fresh loaders,
 * since one subscription outlives many changes to what they would cache.
 */
export const Subscription: SubscriptionResolvers = {
  directMessageReceived: {
    async subscribe(_parent, { after }, context) {
      const viewerId = requireViewer(context);
      const afterId = parseAfter(after);
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
};
