/** The Instagram subgraph's configuration from the environment: port, token lifetime, sign-in and sign-up limits. */
import { parseEnv, portVar, rateLimitVar, sharedEnv } from '@igt/common';
import { z } from 'zod';
import { ACCOUNT_LIMITS, type AccountLimits } from './loginThrottle.js';

const instagramEnv = sharedEnv.and(
  z.object({
    INSTAGRAM_PORT: portVar(4001),
    JWT_TTL_SECONDS: z.coerce
      .number({ error: 'expected a number of seconds' })
      .int()
      .min(60, { error: 'expected at least 60 seconds' })
      .default(7 * 24 * 3600),
    /** Wrong passwords for one account from one address before that address is locked out of it (default 5/900). */
    SIGN_IN_LOCKOUT: rateLimitVar(ACCOUNT_LIMITS.lockout),
    /** Failed sign-ins from one address, whatever the accounts (default 20/900). */
    SIGN_IN_LIMIT_PER_ADDRESS: rateLimitVar(ACCOUNT_LIMITS.signInPerAddress),
    /** Failed sign-ins to one account, whatever the addresses (default 100/3600). */
    SIGN_IN_LIMIT_PER_ACCOUNT: rateLimitVar(ACCOUNT_LIMITS.signInPerAccount),
    /** Sign-ups from one address (default 10/3600). */
    SIGN_UP_LIMIT_PER_ADDRESS: rateLimitVar(ACCOUNT_LIMITS.signUpPerAddress),
  }),
);

/** The Instagram subgraph's validated configuration: the shared variables, its port, token lifetime, abuse limits. */
export type InstagramConfig = z.infer<typeof instagramEnv>;

/** Reads and validates the Instagram subgraph's configuration from the environment, once. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): InstagramConfig => parseEnv(instagramEnv, env);

/** The abuse limits `config` sets, in the shape `createInstagramSubgraph` takes. */
export const accountLimits = (config: InstagramConfig): AccountLimits => ({
  lockout: config.SIGN_IN_LOCKOUT,
  signInPerAddress: config.SIGN_IN_LIMIT_PER_ADDRESS,
  signInPerAccount: config.SIGN_IN_LIMIT_PER_ACCOUNT,
  signUpPerAddress: config.SIGN_UP_LIMIT_PER_ADDRESS,
});
