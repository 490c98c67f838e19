/** The Messaging subgraph's configuration from the environment: its port and its limits on sending (DMs, typing). */
import { parseEnv, portVar, rateLimitVar, sharedEnv } from '@igt/common';
import { z } from 'zod';
import { SEND_LIMITS, type SendLimits } from './sendLimits.js';
import { TYPING_LIMITS, type TypingLimits } from './typing.js';

const messagingEnv = sharedEnv.and(
  z.object({
    MESSAGING_PORT: portVar(4003),
    /** Direct messages one account sends (default 30/60). */
    DM_LIMIT_PER_ACCOUNT: rateLimitVar(SEND_LIMITS.perAccount),
    /** Direct messages sent from one address, whatever the accounts (default 60/60). */
    DM_LIMIT_PER_ADDRESS: rateLimitVar(SEND_LIMITS.perAddress),
    /** Typing indicators one account sends (default 20/10). */
    TYPING_LIMIT_PER_ACCOUNT: rateLimitVar(TYPING_LIMITS.perAccount),
  }),
);

/** The Messaging subgraph's configuration: the shared variables, its port and its limits on sending. */
export type MessagingConfig = z.infer<typeof messagingEnv>;

/** Reads and validates the Messaging subgraph's configuration from the environment, once. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): MessagingConfig => parseEnv(messagingEnv, env);

/** The limits on sending messages `config` sets, in the shape `createMessagingSubgraph` takes. */
export const sendLimits = (config: MessagingConfig): SendLimits => ({
  perAccount: config.DM_LIMIT_PER_ACCOUNT,
  perAddress: config.DM_LIMIT_PER_ADDRESS,
});

/** The limits on sending typing indicators `config` sets, in the shape `createMessagingSubgraph` takes. */
export const typingLimits = (config: MessagingConfig): TypingLimits => ({
  perAccount: config.TYPING_LIMIT_PER_ACCOUNT,
});
