import { eq, sql } from 'drizzle-orm';
import { codedError, ErrorCode, type Db } from '@igt/common';
import * as schema from './db/schema.js';

const { loginFailures } = schema;

/** Wrong passwords allowed per username within one window before sign-in is refused for the rest of it. */
export const MAX_LOGIN_FAILURES = 5;
/** Length of the window, in seconds. */
export const LOGIN_WINDOW_SECONDS = 15 * 60;

/** Refuses the attempt with TOO_MANY_ATTEMPTS (and when to retry) while `username` is locked out. */
export async function assertLoginAllowed(db: Db<typeof schema>, username: string): Promise<void> {
  const [row] = await db.select().from(loginFailures).where(eq(loginFailures.username, username)).limit(1);
  if (!row || row.failures < MAX_LOGIN_FAILURES) return;
  const retryAfterSeconds = Math.ceil((row.windowStartedAt.getTime() + LOGIN_WINDOW_SECONDS * 1000 - Date.now()) / 1000);
  if (retryAfterSeconds <= 0) return;
  throw codedError(ErrorCode.TooManyAttempts, `Too many failed sign-ins for this account; try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`, {
    retryAfterSeconds,
  });
}

/** Counts a failed sign-in; a window that has ended starts over. */
export async function recordLoginFailure(db: Db<typeof schema>, username: string): Promise<void> {
  const windowOver = sql`${loginFailures.windowStartedAt} <= now() - make_interval(secs => ${LOGIN_WINDOW_SECONDS})`;
  await db
    .insert(loginFailures)
    .values({ username, failures: 1 })
    .onConflictDoUpdate({
      target: loginFailures.username,
      set: {
        failures: sql`case when ${windowOver} then 1 else ${loginFailures.failures} + 1 end`,
        windowStartedAt: sql`case when ${windowOver} then now() else ${loginFailures.windowStartedAt} end`,
      },
    });
}

/** Forgets the failures of `username` after a successful sign-in. */
export async function clearLoginFailures(db: Db<typeof schema>, username: string): Promise<void> {
  await db.delete(loginFailures).where(eq(loginFailures.username, username));
}
