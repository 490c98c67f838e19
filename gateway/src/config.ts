import { flagVar, parseEnv, portVar, sharedEnv } from '@igt/common';
import { z } from 'zod';

const subgraphUrl = (fallback: string) =>
  z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of a subgraph, e.g. http://localhost:4001/graphql' }).default(fallback);

const gatewayEnv = sharedEnv.and(
  z.object({
    GATEWAY_PORT: portVar(4000),
    INSTAGRAM_URL: subgraphUrl('http://localhost:4001/graphql'),
    THREADS_URL: subgraphUrl('http://localhost:4002/graphql'),
    MESSAGING_URL: subgraphUrl('http://localhost:4003/graphql'),
    /** Introspection and the Apollo Sandbox landing page. */
    INTROSPECTION: flagVar(true),
    /** true (the default): @apollo/gateway sends Apollo no usage data; false lets it. */
    APOLLO_TELEMETRY_DISABLED: flagVar(true),
    /** Browser origins allowed to call the gateway: `*` or a comma-separated list of exact origins. */
    CORS_ORIGINS: z
      .string()
      .default('*')
      .transform((value) => (value.trim() === '*' ? ('*' as const) : value.split(',').map((origin) => origin.trim()).filter(Boolean)))
      .refine((value) => value === '*' || value.every((origin) => /^https?:\/\/[^/\s]+$/.test(origin)), {
        error: 'expected * or a comma-separated list of origins like https://app.example.com',
      }),
  }),
);

/** The gateway's validated configuration: the shared variables, subgraph URLs, introspection, CORS, telemetry. */
export type GatewayConfig = z.infer<typeof gatewayEnv>;

/** Reads and validates the gateway's configuration from the environment, once. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => parseEnv(gatewayEnv, env);
