/** Logged errors carry no query parameters or other private values, and are bounded in size. */
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { createLogger, MAX_LOGGED_STACK, MAX_LOGGED_STRING } from '../src/index.js';

/** A logger writing into an array, and the lines it wrote, parsed. */
function capture() {
  const lines: string[] = [];
  const logger = createLogger('logger-test', 'info', { write: (line: string) => void lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as { err: Record<string, unknown> }) };
}

const PASSWORD_HASH = 'scrypt$32768$8$1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5';
const MESSAGE_TEXT = 'meet me at the usual place 7f3c';
const IDEMPOTENCY_KEY = 'idem-9d41b2';

/** What PostgreSQL (through node-postgres or PGlite) answers for a NUL byte, wrapped the way drizzle wraps it. */
function failedInsert(): DrizzleQueryError {
  const cause = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
    code: '22021',
    severity: 'ERROR',
    detail: `Failing row contains (alice, ${PASSWORD_HASH}).`,
    where: `unnamed portal parameter $3 = '${MESSAGE_TEXT}'`,
    table: 'messages',
    params: [MESSAGE_TEXT],
  });
  return new DrizzleQueryError(
    'insert into "messaging"."messages" ("sender_id", "password_hash", "text", "idempotency_key") values ($1, $2, $3, $4)',
    [7, PASSWORD_HASH, `${MESSAGE_TEXT}\u0000`, IDEMPOTENCY_KEY],
    cause,
  );
}

describe('createLogger', () => {
  it('should log a failed query without its parameters, in message, stack, fields or cause', () => {
    const { logger, lines, entries } = capture();
    logger.error({ err: failedInsert() }, 'unexpected error');
    const line = lines.join('');
    for (const secret of [PASSWORD_HASH, MESSAGE_TEXT, IDEMPOTENCY_KEY, 'scrypt$']) expect(line).not.toContain(secret);
    const { err } = entries()[0]!;
    // What helps find the fault stays: the statement (without values), the SQLSTATE, the table.
    expect(err.type).toBe('DrizzleQueryError');
    expect(err.message).toContain('insert into "messaging"."messages"');
    expect(err.stack).toMatch(/^Error: Failed query: insert into[\s\S]*\n\s+at /);
    expect(err.cause).toMatchObject({
      code: '22021',
      table: 'messages',
      message: 'invalid byte sequence for encoding "UTF8": 0x00',
    });
  });

  it('should log an error passed as the first argument the same way', () => {
    const { logger, lines } = capture();
    logger.error(failedInsert());
    expect(lines.join('')).not.toContain(PASSWORD_HASH);
  });

  it('should not log the value PostgreSQL quotes when it cannot read one', () => {
    const { logger, lines } = capture();
    logger.error(
      {
        err: Object.assign(new Error(`invalid input syntax for type integer: "${IDEMPOTENCY_KEY}"`), { code: '22P02' }),
      },
      'failed',
    );
    expect(lines.join('')).not.toContain(IDEMPOTENCY_KEY);
    expect(lines.join('')).toContain('invalid input syntax for type integer');
  });

  it('should cap the message, stack and every string field of a logged error, and bound its causes', () => {
    const { logger, lines, entries } = capture();
    const huge = 'x'.repeat(200_000);
    let chain = new Error(huge);
    for (let i = 0; i < 100; i++) chain = new Error(huge, { cause: chain });
    const error = Object.assign(chain, {
      response: { body: huge },
      hint: huge,
      list: Array.from({ length: 1_000 }, () => huge),
    });
    logger.error({ err: error }, 'huge');
    const { err } = entries()[0]!;
    expect((err.message as string).length).toBeLessThan(MAX_LOGGED_STRING + 50);
    expect((err.stack as string).length).toBeLessThan(MAX_LOGGED_STACK + 50);
    expect(lines[0]!.length).toBeLessThan(40_000);
  });

  it('should redact private fields logged outside errors', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        input: { passwordHash: PASSWORD_HASH, idempotencyKey: IDEMPOTENCY_KEY, text: MESSAGE_TEXT },
        query: { params: [PASSWORD_HASH] },
      },
      'ok',
    );
    const line = lines.join('');
    for (const secret of [PASSWORD_HASH, MESSAGE_TEXT, IDEMPOTENCY_KEY]) expect(line).not.toContain(secret);
  });
});
