import { parseEnv, portVar, sharedEnv } from '@igt/common';
import { z } from 'zod';

const instagramEnv = sharedEnv.and(
  z.object({
    INSTAGRAM_PORT: portVar(4001),
    JWT_TTL_SECONDS: z.coerce
      .number({ error: 'expected a number of seconds' })
      .int()
      .min(60, { error: 'expected at least 60 seconds' })
      .default(7 * 24 * 3600),
  }),
);

/** The Instagram subgraph's validated configuration: the shared variables, its port, how long its tokens live. */
export type InstagramConfig = z.infer<typeof instagramEnv>;

/** Reads and validates the Instagram subgraph's configuration from the environment, once. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): InstagramConfig => parseEnv(instagramEnv, env);
