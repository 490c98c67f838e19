/** The gateway context's assertions: reused while young, re-signed before expiry, for anonymous viewers too. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GATEWAY_ASSERTION_REFRESH_MS, verifyGatewayAssertion } from '@igt/common';
import { createGatewayContext } from '../src/context.js';

const SECRET = 'context-test-gateway-secret-0123456789-0123456789';

afterEach(() => {
  vi.useRealTimers();
});

describe('gateway context assertions', () => {
  it('should reuse a young assertion and sign a fresh one before the old one expires, so long-lived sockets keep working', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const context = createGatewayContext({ id: '7', username: 'gina' }, SECRET);
    const first = await context.assertion();
    expect(await context.assertion()).toBe(first);

    // A WebSocket connection outlives the assertion it started with.
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await expect(verifyGatewayAssertion(first, SECRET)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const fresh = await context.assertion();
    expect(fresh).not.toBe(first);
    await expect(verifyGatewayAssertion(fresh, SECRET)).resolves.toEqual({
      viewer: { id: '7', username: 'gina' },
      clientAddress: null,
    });

    vi.setSystemTime(Date.now() + GATEWAY_ASSERTION_REFRESH_MS - 1);
    expect(await context.assertion()).toBe(fresh);
  });

  it('should vouch for an anonymous viewer as anonymous', async () => {
    const context = createGatewayContext(null, SECRET);
    await expect(verifyGatewayAssertion(await context.assertion(), SECRET)).resolves.toEqual({
      viewer: null,
      clientAddress: null,
    });
  });

  it('should vouch for the client address it was given, which rate limits count by', async () => {
    const context = createGatewayContext(null, SECRET, { clientAddress: '203.0.113.7' });
    await expect(verifyGatewayAssertion(await context.assertion(), SECRET)).resolves.toEqual({
      viewer: null,
      clientAddress: '203.0.113.7',
    });
  });
});
