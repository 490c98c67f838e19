// The context every Messaging resolver receives: the request, its loaders, and the services behind them.
import type { PubSub, SubgraphContext } from '@igt/common';
import type * as schema from './db/schema.js';
import type { InboxStreams } from './inboxChannel.js';
import type { KnownUsers } from './knownUsers.js';
import type { Loaders } from './loaders.js';
import type { InboxEventModel, MessageModel } from './models.js';
import type { MessageButtons } from './messageButtons.js';
import type { RelationshipProjection } from './relationshipProjection.js';
import type { SendThrottle } from './sendLimits.js';
import type { TypingIndicators } from './typing.js';

/** Per-request (or per-subscription) context of the Messaging subgraph. */
export interface Context extends SubgraphContext<typeof schema, Loaders> {
  /** Where committed messages, inbox events and typing indicators are announced to live subscribers. */
  pubsub: PubSub;
  /** The follows/blocks projection; canMessage catches it up before every send and Message button. */
  relationships: RelationshipProjection;
  /** Which user ids name real accounts (Messaging cannot read Instagram's users). */
  knownUsers: KnownUsers;
  /** This request's Message buttons, batched (messageButtons.ts); renewed with `loaders`. */
  messageButtons: MessageButtons;
  /** Opens the live streams behind `directMessageReceived`. */
  directMessages: InboxStreams<MessageModel>;
  /** Opens the live streams behind `inboxEvents`. */
  inboxEvents: InboxStreams<InboxEventModel>;
  /** Abuse limits on sending direct messages. */
  sendThrottle: SendThrottle;
  /** Passes `setTyping` on and opens the live streams behind `typingIndicators`. */
  typingIndicators: TypingIndicators;
  /**
   * Replaces `loaders` (and `messageButtons`) with fresh ones. A subscription's context lives as long as the
   * subscription, so it renews them for every event: no event sees what an earlier one cached.
   */
  renewLoaders(): void;
}
