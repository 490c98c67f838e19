/** Resolvers of MessageAction in Threads: its half of the Message button on a profile. */
import type { MessageActionResolvers } from '../generated/resolvers-types.js';
import { messageActionFor } from '../models.js';

/** Threads' half of the Message button (label, mutation, inbox); Messaging resolves whether the viewer may use it. */
export const MessageAction: MessageActionResolvers = {
  // The Threads part of the button is the same for every recipient, so the key alone rebuilds it.
  __resolveReference: (reference) => messageActionFor(reference.recipient.id),
};
