/** Authentication through the gateway: bearer tokens, and subgraphs refusing what the gateway did not vouch for. */
import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ASSERTION_HEADER, signGatewayAssertion } from '@igt/common';
import { expectError, ok, startStack, TEST_JWT_SECRET, type TestStack } from './support/harness.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

const clientToken = (claims: { sub: string; username: string }, secret: string, expiresIn: string) =>
  new SignJWT({ username: claims.username })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuer('ig-threads-supergraph')
    .setAudience('clients')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));

describe('bearer tokens at the gateway', () => {
  it('should treat a request without a token as an anonymous viewer', async () => {
    const result = ok(await stack.query('{ viewer { id } user(username: "alice") { username } }'));
    expect(result).toEqual({ viewer: null, user: { username: 'alice' } });
  });

  it('should refuse malformed, forged and expired tokens with UNAUTHENTICATED and status 401', async () => {
    const forged = await clientToken(
      { sub: '1', username: 'alice' },
      'not-the-secret-not-the-secret-not-the-secret',
      '1h',
    );
    const expired = await clientToken({ sub: '1', username: 'alice' }, TEST_JWT_SECRET, '-1m');
    for (const token of ['garbage', forged, expired, `${(await stack.login('alice')).slice(0, -4)}AAAA`]) {
      const response = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { id } }' }),
      });
      expect(response.status).toBe(401);
      expectError((await response.json()) as never, 'UNAUTHENTICATED');
    }
  });

  it('should accept a valid token and pass the identity on to every subgraph', async () => {
    const token = await stack.login('alice');
    const result = ok(
      await stack.query(
        '{ viewer { username threadsProfile { username } } inbox { edges { cursor } } }',
        {},
        { token },
      ),
    );
    expect(result.viewer).toEqual({ username: 'alice', threadsProfile: { username: 'alice' } });
    expect(Array.isArray(result.inbox.edges)).toBe(true);
  });
});

describe('subgraphs behind the gateway', () => {
  const direct = (url: string, headers: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ viewer { id username } }' }),
    });

  it('should refuse a request that did not come through the gateway', async () => {
    for (const url of Object.values(stack.subgraphUrls)) {
      const response = await direct(url, {});
      expect(response.status).toBe(401);
      expectError((await response.json()) as never, 'UNAUTHENTICATED');
    }
  });

  it('should refuse a forged identity sent straight to a subgraph', async () => {
    const forgedAssertion = await signGatewayAssertion(
      { id: '1', username: 'alice' },
      'a-guessed-secret-that-is-not-the-gateways',
    );
    const bearer = await stack.login('alice');
    const attempts: Record<string, string>[] = [
      { [GATEWAY_ASSERTION_HEADER]: forgedAssertion },
      // A client's own (valid) token is not a gateway assertion either.
      { [GATEWAY_ASSERTION_HEADER]: bearer },
      { authorization: `Bearer ${bearer}` },
    ];
    for (const headers of attempts) {
      const response = await direct(stack.subgraphUrls.instagram, headers);
      expect(response.status).toBe(401);
      const body = (await response.json()) as { data?: unknown };
      expect(body.data).toBeUndefined();
    }
  });

  it("should refuse a subscription opened straight on Messaging's WebSocket without the gateway's assertion", async () => {
    for (const connectionParams of [
      {},
      { gatewayAssertion: 'forged' },
      { authorization: `Bearer ${await stack.login('bob')}` },
    ]) {
      const client = createClient({
        url: stack.subgraphUrls.messaging.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams,
      });
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription { directMessageReceived { id text } }' },
          { next: resolve, error: resolve, complete: () => resolve('complete') },
        );
      });
      await client.dispose();
      expect((outcome as { code?: number }).code).toBe(4403);
    }
  });
});
