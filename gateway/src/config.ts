/** The gateway's configuration: read from the environment once, validated, with each default written where it is declared. */
import { flagVar, nodeEnvVar, optionalFlagVar, parseEnv, portVar, sharedEnv } from '@igt/common';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';

const subgraphUrl = (fallback: string) =>
  z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL of a subgraph, e.g. http://localhost:4001/graphql' })
    .default(fallback);

/** `*` or a comma-separated list of exact origins; unset or empty is `undefined`, so the default can depend on NODE_ENV. */
const corsOriginsVar = z
  .string()
  .optional()
  .transform((value) => {
    if (value === undefined || value.trim() === '') return undefined;
    return value.trim() === '*'
      ? ('*' as const)
      : value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean);
  })
  .refine(
    (value) => value === undefined || value === '*' || value.every((origin) => /^https?:\/\/[^/\s]+$/.test(origin)),
    {
      error: 'expected * or a comma-separated list of origins like https://app.example.com',
    },
  );

/** A comma-separated list of proxies `proxy-addr` understands; unset or empty is none. */
const trustedProxiesVar = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .refine(
    (entries) => {
      try {
        proxyAddr.compile(entries);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'expected a comma-separated list of IP addresses, CIDR ranges, loopback, linklocal or uniquelocal' },
  );

/** A whole number above zero, of `unit`. */
const positiveIntVar = (fallback: number, unit: string) =>
  z.coerce
    .number({ error: `expected a whole number of ${unit}` })
    .int({ error: `expected a whole number of ${unit}` })
    .positive({ error: `expected a whole number of ${unit} above 0` })
    .default(fallback);

const gatewayEnv = sharedEnv.and(
  z
    .object({
      /** Read here as well as in sharedEnv: the defaults of INTROSPECTION and CORS_ORIGINS depend on it. */
      NODE_ENV: nodeEnvVar,
      GATEWAY_PORT: portVar(4000),
      INSTAGRAM_URL: subgraphUrl('http://localhost:4001/graphql'),
      THREADS_URL: subgraphUrl('http://localhost:4002/graphql'),
      MESSAGING_URL: subgraphUrl('http://localhost:4003/graphql'),
      /** Introspection, the Apollo Sandbox landing page and the explorer. Default: on, except when NODE_ENV=production. */
      INTROSPECTION: optionalFlagVar,
      /** true (the default): @apollo/gateway sends Apollo no usage data; false lets it. */
      APOLLO_TELEMETRY_DISABLED: flagVar(true),
      /**
       * Browser origins allowed to call the gateway: `*` or a comma-separated list of exact origins. Default: `*`,
       * except when NODE_ENV=production, where it must be set (`*` written out is accepted there too).
       */
      CORS_ORIGINS: corsOriginsVar,
      /** How long a subgraph has to answer one fetch, WebSocket handshake or ping, in milliseconds. */
      SUBGRAPH_TIMEOUT_MS: positiveIntVar(10_000, 'milliseconds'),
      /** Connections the gateway holds to one subgraph at most; further requests wait for a free one. */
      SUBGRAPH_MAX_CONNECTIONS: positiveIntVar(64, 'connections'),
      /** WebSocket connections to one subgraph that all clients' subscriptions share (multiplexed over them). */
      SUBGRAPH_WEBSOCKETS: positiveIntVar(4, 'connections'),
      /** Port of the internal listener (Prometheus /metrics, /health/subgraphs), apart from the public GATEWAY_PORT. */
      INTERNAL_PORT: portVar(9400),
      /** Address the internal listener binds: only this machine by default; 0.0.0.0 for a scraper elsewhere. */
      INTERNAL_HOST: z.string().min(1).default('127.0.0.1'),
      /**
       * Proxies whose X-Forwarded-For names the client: a comma-separated list of addresses, CIDR ranges, `loopback`,
       * `linklocal` or `uniquelocal`. Default none: the client is whoever opened the connection.
       */
      TRUSTED_PROXIES: trustedProxiesVar,
      /** Open WebSockets one client address may hold at once. */
      MAX_SOCKETS_PER_ADDRESS: positiveIntVar(100, 'sockets'),
      /** Open WebSockets one signed-in account may hold at once. */
      MAX_SOCKETS_PER_ACCOUNT: positiveIntVar(10, 'sockets'),
    })
    .superRefine(({ NODE_ENV, CORS_ORIGINS }, ctx) => {
      if (NODE_ENV === 'production' && CORS_ORIGINS === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['CORS_ORIGINS'],
          message:
            'must be set when NODE_ENV=production: * or a comma-separated list of origins like https://app.example.com',
        });
      }
    })
    .transform(({ INTROSPECTION, CORS_ORIGINS, ...values }) => ({
      ...values,
      INTROSPECTION: INTROSPECTION ?? values.NODE_ENV !== 'production',
      CORS_ORIGINS: CORS_ORIGINS ?? ('*' as const),
    })),
);

/** The gateway's validated configuration: the shared variables, subgraph URLs, introspection, CORS, telemetry. */
export type GatewayConfig = z.infer<typeof gatewayEnv>;

/**
 * Hands APOLLO_TELEMETRY_DISABLED on to @apollo/gateway, which reads it from the environment itself when a gateway is
 * built: unless it is true, it reports usage to Apollo and probes cloud metadata endpoints. Entry points call this
 * before building a gateway, so the project's default (true) holds when the variable is unset.
 */
export function handTelemetryChoiceToApollo(
  config: Pick<GatewayConfig, 'APOLLO_TELEMETRY_DISABLED'>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  env.APOLLO_TELEMETRY_DISABLED = String(config.APOLLO_TELEMETRY_DISABLED);
}

/** Reads and validates the gateway's configuration from the environment, once. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => parseEnv(gatewayEnv, env);
