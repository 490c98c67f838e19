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

  const away: [string, Error][] = [
    ['refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['client left unusable', new Error('Client has encountered a connection error and is not queryable')],
    [
      'server shutting down',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ],
  ];
  for (const [what, driverError] of away) {
    it(`should tell the client a database that is away (${what}) is SERVICE_UNAVAILABLE, worth a retry`, () => {
      const format = createErrorFormatter(() => {});
      const drizzleError = new Error('Failed query: select …\nparams: secret', { cause: driverError });
      const error = new GraphQLError(drizzleError.message, { originalError: drizzleError });
      const formatted = format(error.toJSON(), error);
      expect(formatted.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(formatted)).not.toContain('secret');
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
