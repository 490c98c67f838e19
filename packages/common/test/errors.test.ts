/** The error formatter: what a client is told of a failure, and what reaches the logs. */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createErrorFormatter } from '../src/index.js';

/** A database failure as a resolver sees it: drizzle's wrapper around the driver's error, inside graphql-js's. */
function databaseFailure(sqlState: string): GraphQLError {
  const driverError = Object.assign(new Error('the database refused it'), { code: sqlState });
  const drizzleError = new Error('Failed query: insert into …\nparams: secret', { cause: driverError });
  return new GraphQLError(drizzleError.message, { originalError: drizzleError, path: ['sendDirectMessage'] });
}

describe('createErrorFormatter', () => {
  for (const sqlState of ['22021', '22P05']) {
    it(`should tell the client text the database cannot store (SQLSTATE ${sqlState}) is BAD_USER_INPUT, and log nothing`, () => {
      const logged: unknown[] = [];
      const format = createErrorFormatter((error) => logged.push(error));
      const error = databaseFailure(sqlState);
      const formatted = format(error.toJSON(), error);
      expect(formatted).toMatchObject({ path: ['sendDirectMessage'], extensions: { code: 'BAD_USER_INPUT' } });
      expect(formatted.message).toMatch(/cannot be stored/);
      expect(JSON.stringify(formatted)).not.toContain('secret');
      expect(logged).toEqual([]);
    });
  }

  it('should still mask any other database failure as INTERNAL_SERVER_ERROR and log it', () => {
    const logged: unknown[] = [];
    const format = createErrorFormatter((error) => logged.push(error));
    const error = databaseFailure('42P01');
    expect(format(error.toJSON(), error)).toMatchObject({ extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged).toHaveLength(1);
  });
});
