import { parseEnv, portVar, sharedEnv } from '@igt/common';
import { z } from 'zod';

const messagingEnv = sharedEnv.and(z.object({ MESSAGING_PORT: portVar(4003) }));

/** The Messaging subgraph's configuration: the shared variables plus its port. */
export type MessagingConfig = z.infer<typeof messagingEnv>;

/** Reads and validates the Messaging subgraph's configuration from the environment, once. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): MessagingConfig => parseEnv(messagingEnv, env);
