/** Abuse limits on getting into accounts: password guessing at sign-in, and sign-ups in bulk. */
import { and, eq, or, sql } from 'drizzle-orm';
import { addressKey, tooManyAttempts, type Db, type RateLimit, type RateLimitStore } from '@igt/common';
import * as schema from './db/schema.js';

const { loginFailures } = schema;

/** How much sign-in and sign-up one client address, or one account, gets; each one's default is in ACCOUNT_LIMITS. */
export interface AccountLimits {
  /** Wrong passwords for one account from one address, after which that address may not sign in to it. */
  lockout: RateLimit;
  /**
   * Sign-ins from one address that did not succeed (wrong password, or refused), whatever the accounts: one address
   * cannot guess across many accounts.
   */
  signInPerAddress: RateLimit;
  /** Sign-ins at one account that did not succeed, whatever the addresses: caps guessing spread over many addresses. */
  signInPerAccount: RateLimit;
  /** Accounts created from one address. */
  signUpPerAddress: RateLimit;
}

/** The defaults: what `npm start`, the services and docker-compose use unless told otherwise. */
export const ACCOUNT_LIMITS: AccountLimits = {
  lockout: { points: 5, durationSeconds: 15 * 60 },
  signInPerAddress: { points: 20, durationSeconds: 15 * 60 },
  signInPerAccount: { points: 100, durationSeconds: 60 * 60 },
  signUpPerAddress: { points: 10, durationSeconds: 60 * 60 },
};

/** A sign-in let through to its password check; it counts as a failure unless it is said to have succeeded. */
export interface SignInAttempt {
  /** The password was right: forget this address's failures at this account and give the attempt back. */
  succeeded(): Promise<void>;
}

/** The rules `signUp` and `login` ask before doing their expensive part (hashing a password). */
export interface LoginThrottle {
  /**
   * Counts a sign-in at `username` from `clientAddress` before its password is checked, so parallel guesses cannot
   * outrun the count. Refuses with TOO_MANY_ATTEMPTS (and `retryAfterSeconds`) when the address, then the account, then
   * the pair is over its limit; the address is asked first, so its own limit stops it before it adds to an account's.
   */
  admitSignIn(username: string, clientAddress: string | null): Promise<SignInAttempt>;
  /** Counts a sign-up from `clientAddress`; refuses with TOO_MANY_ATTEMPTS past the limit. */
  admitSignUp(clientAddress: string | null): Promise<void>;
}

/** Builds the throttle on the Instagram database (the per-account lockout) and `store` (the rate limits). */
export function createLoginThrottle(
  db: Db<typeof schema>,
  store: RateLimitStore,
  limits: Partial<AccountLimits> = {},
): LoginThrottle {
  const { lockout, signInPerAddress, signInPerAccount, signUpPerAddress } = { ...ACCOUNT_LIMITS, ...limits };
  const signInsFromAddress = store.limiter(
    'sign-in:address',
    signInPerAddress,
    'Too many failed sign-ins from your network',
  );
  const signInsToAccount = store.limiter(
    'sign-in:account',
    signInPerAccount,
    'Too many failed sign-ins for this account',
  );
  const signUpsFromAddress = store.limiter('sign-up:address', signUpPerAddress, 'Too many sign-ups from your network');
  return {
    async admitSignIn(username, clientAddress) {
      const address = addressKey(clientAddress);
      await signInsFromAddress.consume(address);
      await signInsToAccount.consume(username);
      await countAttempt(db, username, address, lockout);
      return {
        async succeeded() {
          // With this pair's failures go every pair's whose window is over, which count as none anyway: without
          // that, guesses at names that never sign in would leave a row each for good.
          await db
            .delete(loginFailures)
            .where(
              or(
                and(eq(loginFailures.username, username), eq(loginFailures.address, address)),
                windowOver(lockout.durationSeconds),
              ),
            );
          await Promise.all([signInsFromAddress.refund(address), signInsToAccount.refund(username)]);
        },
      };
    },
    async admitSignUp(clientAddress) {
      await signUpsFromAddress.consume(addressKey(clientAddress));
    },
  };
}

/** Whether a pair's window of `durationSeconds` has ended: its failures no longer count. */
const windowOver = (durationSeconds: number) =>
  sql`${loginFailures.windowStartedAt} <= now() - make_interval(secs => ${durationSeconds})`;

/**
 * Counts one attempt at `username` from `address` in one conditional upsert: a window that has ended starts over, and
 * a pair already at the limit is left as it is and refused. One statement, so no two requests both see room left.
 */
async function countAttempt(
  db: Db<typeof schema>,
  username: string,
  address: string,
  { points, durationSeconds }: RateLimit,
): Promise<void> {
  const over = windowOver(durationSeconds);
  const counted = await db
    .insert(loginFailures)
    .values({ username, address, failures: 1 })
    .onConflictDoUpdate({
      target: [loginFailures.username, loginFailures.address],
      set: {
        failures: sql`case when ${over} then 1 else ${loginFailures.failures} + 1 end`,
        windowStartedAt: sql`case when ${over} then now() else ${loginFailures.windowStartedAt} end`,
      },
      setWhere: sql`${over} or ${loginFailures.failures} < ${points}`,
    })
    .returning({ failures: loginFailures.failures });
  if (counted.length) return;
  const [row] = await db
    .select({
      retryAfterSeconds: sql<number>`extract(epoch from ${loginFailures.windowStartedAt} + make_interval(secs => ${durationSeconds}) - now())`,
    })
    .from(loginFailures)
    .where(and(eq(loginFailures.username, username), eq(loginFailures.address, address)));
  throw tooManyAttempts('Too many failed sign-ins for this account', Number(row?.retryAfterSeconds ?? durationSeconds));
}
