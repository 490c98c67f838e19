/** The Threads subgraph's configuration from the environment: the shared variables and its port. */
import { parseEnv, portVar, sharedEnv } from '@igt/common';
import { z } from 'zod';

const threadsEnv = sharedEnv.and(z.object({ THREADS_PORT: portVar(4002) }));

/** The Threads subgraph's validated configuration. */
export type ThreadsConfig = z.infer<typeof threadsEnv>;

/** Reads and validates the Threads subgraph's configuration from the environment, once. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): ThreadsConfig => parseEnv(threadsEnv, env);
