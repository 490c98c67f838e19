/** Which HTTP requests are subscription streams, and over which transport, from the operation and the Accept header. */
import { OperationTypeNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { httpDispatch } from '../src/httpDispatch.js';

const APOLLO_CLIENT_ACCEPT =
  'multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9';

describe('httpDispatch', () => {
  it('should stream a subscription over multipart for Apollo Client’s Accept list and the quoted form', () => {
    for (const accept of [
      APOLLO_CLIENT_ACCEPT,
      'multipart/mixed;subscriptionSpec=1.0',
      'multipart/mixed; subscriptionSpec="1.0"',
      'Multipart/Mixed;SubscriptionSpec="1.0";boundary="graphql"',
    ]) {
      expect(httpDispatch(OperationTypeNode.SUBSCRIPTION, accept), accept).toBe('multipart');
    }
  });

  it('should stream a subscription over SSE for text/event-stream', () => {
    expect(httpDispatch(OperationTypeNode.SUBSCRIPTION, 'text/event-stream')).toBe('sse');
    expect(httpDispatch(OperationTypeNode.SUBSCRIPTION, 'application/json, text/event-stream')).toBe('sse');
  });

  it('should pick the transport the client prefers: highest q, then first listed', () => {
    expect(
      httpDispatch(OperationTypeNode.SUBSCRIPTION, 'text/event-stream, multipart/mixed;subscriptionSpec=1.0'),
    ).toBe('sse');
    expect(
      httpDispatch(OperationTypeNode.SUBSCRIPTION, 'text/event-stream;q=0.5, multipart/mixed;subscriptionSpec=1.0'),
    ).toBe('multipart');
    expect(httpDispatch(OperationTypeNode.SUBSCRIPTION, 'text/event-stream;q=0, application/json')).toBe(
      'not-acceptable',
    );
  });

  it('should read a long Accept header in one pass, keeping quoted commas inside their parameter', () => {
    // Rescanned to its end at every comma, a header this long would take minutes.
    const long = `${'application/x-filler;note="a,b",'.repeat(20_000)}text/event-stream`;
    expect(httpDispatch(OperationTypeNode.SUBSCRIPTION, long)).toBe('sse');
    expect(httpDispatch(OperationTypeNode.SUBSCRIPTION, 'a/b;x="text/event-stream,"')).toBe('not-acceptable');
  });

  it('should refuse a subscription whose Accept names neither transport', () => {
    for (const accept of [
      undefined,
      '',
      'application/json',
      '*/*',
      'multipart/mixed',
      'multipart/mixed;deferSpec=20220824',
    ]) {
      expect(httpDispatch(OperationTypeNode.SUBSCRIPTION, accept), String(accept)).toBe('not-acceptable');
    }
  });

  it('should leave queries and mutations to Apollo Server whatever the Accept header', () => {
    for (const operation of [OperationTypeNode.QUERY, OperationTypeNode.MUTATION]) {
      expect(httpDispatch(operation, APOLLO_CLIENT_ACCEPT)).toBeUndefined();
      expect(httpDispatch(operation, 'text/event-stream')).toBeUndefined();
      expect(httpDispatch(operation, 'application/json')).toBeUndefined();
    }
  });

  it('should let a streaming client have the error of an operation that cannot be told, leaving the rest to Apollo Server', () => {
    expect(httpDispatch(undefined, 'text/event-stream')).toBe('sse');
    expect(httpDispatch(undefined, 'application/json')).toBeUndefined();
    expect(httpDispatch(undefined, APOLLO_CLIENT_ACCEPT)).toBe('multipart');
  });
});
