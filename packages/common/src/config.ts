/** Configuration from the environment: variable parsers, the variables every service shares, errors naming each. */
import { z } from 'zod';
import type { RateLimit } from './rateLimits.js';

/** Thrown when the environment does not describe a runnable service; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses `env` with `schema` once, at start-up. On failure the error lists each variable with what was expected and
 * what was got, e.g. `GATEWAY_PORT: expected an integer from 0 to 65535, got "abc"`.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    const got = issue.path.length ? env[String(issue.path[0])] : undefined;
    return `  ${variable}: ${issue.message}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`;
  });
  return fail(`Invalid configuration:\n${lines.join('\n')}`);
}

function fail(message: string): never {
  throw new ConfigError(message);
}

/** A TCP port; 0 asks the OS for a free one (what tests use). */
export const portVar = (fallback: number) =>
  z.coerce
    .number({ error: 'expected an integer from 0 to 65535' })
    .int({ error: 'expected an integer from 0 to 65535' })
    .min(0, { error: 'expected an integer from 0 to 65535' })
    .max(65535, { error: 'expected an integer from 0 to 65535' })
    .default(fallback);

/** An optional URL with one of the given schemes (empty counts as unset). */
const urlVar = (schemes: string[]) =>
  z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || schemes.some((scheme) => value.startsWith(`${scheme}://`)), {
      error: `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
    });

/** A rate limit written `<count>/<seconds>`, e.g. `5/900` for five per 15 minutes; unset or empty means `fallback`. */
export const rateLimitVar = (fallback: RateLimit) =>
  z
    .string()
    .optional()
    .refine((value) => !value || /^\s*[1-9]\d{0,8}\s*\/\s*[1-9]\d{0,8}\s*$/.test(value), {
      error: 'expected <count>/<seconds> with whole numbers from 1, e.g. 5/900',
    })
    .transform((value): RateLimit => {
      if (!value) return fallback;
      const [points = 0, durationSeconds = 0] = value.split('/').map(Number);
      return { points, durationSeconds };
    });

/**
 * A boolean flag written as true/false/1/0, or `undefined` when unset: for a flag whose default depends on another
 * variable (NODE_ENV), which the schema reading both then fills in.
 */
export const optionalFlagVar = z
  .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true' || value === '1'));

/** A boolean flag written as true/false/1/0, `fallback` when unset. */
export const flagVar = (fallback: boolean) => optionalFlagVar.transform((value) => value ?? fallback);

/**
 * NODE_ENV; `production` refuses the development secrets and turns demo seeding off by default (and, at the gateway,
 * introspection, and requires CORS_ORIGINS).
 */
export const nodeEnvVar = z.enum(['development', 'production', 'test']).default('development');

/** LOG_LEVEL, one of pino's levels; checked at start-up so a typo is reported with the other bad variables. */
const logLevelVar = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/** Development-only values for the secrets; start-up refuses them when NODE_ENV=production. */
const DEV_SECRETS = {
  JWT_SECRET: 'development-only-jwt-secret-do-not-use-in-production',
  GATEWAY_SECRET: 'development-only-gateway-secret-do-not-use-in-production',
} as const;

const secretVar = (name: keyof typeof DEV_SECRETS) =>
  z.string().min(32, { error: 'expected a secret of at least 32 characters' }).default(DEV_SECRETS[name]);

/**
 * The secrets, at least 32 characters each. Unset, each falls back to its development default, which start-up refuses
 * when NODE_ENV=production; `developmentSecretsInUse` tells which defaults are in use so start-up can say so.
 */
const runtimeEnv = z
  .object({
    NODE_ENV: nodeEnvVar,
    JWT_SECRET: secretVar('JWT_SECRET'),
    GATEWAY_SECRET: secretVar('GATEWAY_SECRET'),
    /** Load the demo people into an empty database; on by default except in production (their password is public). */
    SEED_DEMO_DATA: optionalFlagVar,
  })
  .superRefine((values, ctx) => {
    if (values.NODE_ENV !== 'production') return;
    for (const name of Object.keys(DEV_SECRETS) as (keyof typeof DEV_SECRETS)[]) {
      if (values[name] === DEV_SECRETS[name]) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'must be set to a secret of your own when NODE_ENV=production (the development default is refused)',
        });
      }
    }
  })
  .transform(({ SEED_DEMO_DATA, ...values }) => ({
    ...values,
    SEED_DEMO_DATA: SEED_DEMO_DATA ?? values.NODE_ENV !== 'production',
  }));

/** Names of the secrets in `values` that still hold their development default. */
export function developmentSecretsInUse(values: Record<string, unknown>): string[] {
  return (Object.keys(DEV_SECRETS) as (keyof typeof DEV_SECRETS)[]).filter(
    (name) => values[name] === DEV_SECRETS[name],
  );
}

/** Variables every service reads: where data lives, Redis, logging, secrets. */
export const sharedEnv = z
  .object({
    DATABASE_URL: urlVar(['postgres', 'postgresql']),
    DATA_DIR: z.string().min(1).default('./.data'),
    REDIS_URL: urlVar(['redis', 'rediss']),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/, { error: 'expected 1–64 letters, digits or :_.-' })
      .default('igt:'),
    LOG_LEVEL: logLevelVar,
  })
  .and(runtimeEnv);
