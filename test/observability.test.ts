/** Observability: metrics on the gateway and each subgraph, and logs that follow a request id and keep secrets out. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_OPERATION_LABELS } from '@igt/common';
import { eventually, ok, startStack, subscribe, type TestStack } from './support/harness.js';
import { metricsOf, sample } from './support/metrics.js';

let stack: TestStack;
const logs: string[] = [];

beforeAll(async () => {
  stack = await startStack({ logs });
});

afterAll(async () => {
  await stack?.close();
});

describe('metrics', () => {
  it('should count operations by name and outcome, and time subgraph fetches, on the gateway', async () => {
    ok(await stack.query('query ProfileForMetrics { profile(username: "alice") { user { fullName } } }'));
    await stack.query('mutation FailingLogin { login(username: "alice", password: "wrong-password") { token } }');
    const text = await metricsOf(stack.gatewayInternalUrl!);
    expect(sample(text, 'graphql_requests_total', { operation: 'ProfileForMetrics', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'graphql_requests_total', { operation: 'FailingLogin', outcome: 'UNAUTHENTICATED' })).toBe(1);
    expect(sample(text, 'graphql_request_duration_seconds_count', { operation: 'ProfileForMetrics' })).toBe(1);
    expect(
      sample(text, 'gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'threads', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    expect(
      sample(text, 'gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'instagram', outcome: 'ok' }),
    ).toBeGreaterThan(0);
  });

  it("should serve the gateway's metrics on their own listener, not on the public port", async () => {
    expect(new URL(stack.gatewayInternalUrl!).port).not.toBe(new URL(stack.gatewayUrl).port);
    expect(new URL(stack.gatewayInternalUrl!).hostname).toMatch(/^(127\.0\.0\.1|localhost)$/);
    expect((await fetch(new URL('/metrics', stack.gatewayUrl))).status).toBe(404);
  });

  it('should label at most a bounded number of distinct operation names, counting the rest as other', async () => {
    const names = Array.from({ length: MAX_OPERATION_LABELS + 50 }, (_, i) => `Random${i}_${randomUUID().slice(0, 8)}`);
    for (const name of names) await stack.query(`query ${name} { __typename }`);
    const text = await metricsOf(stack.gatewayInternalUrl!);
    const labelled = new Set(
      [...text.matchAll(/graphql_requests_total\{[^}]*operation="([^"]+)"/g)].map((match) => match[1]),
    );
    expect(labelled.size).toBeLessThanOrEqual(MAX_OPERATION_LABELS + 1);
    expect(labelled.has('other')).toBe(true);
    expect(labelled.has(names.at(-1)!)).toBe(false);
  });

  it('should serve metrics on every subgraph', async () => {
    for (const [name, url] of Object.entries(stack.subgraphUrls)) {
      const text = await metricsOf(url);
      expect(text).toContain(`service="${name}"`);
      expect(text).toContain('graphql_requests_total');
    }
  });

  it('should track WebSocket connections, active subscriptions and pub/sub traffic', async () => {
    const bob = await stack.login('bob');
    const subscription = subscribe(stack.wsClient(bob), 'subscription { directMessageReceived { id } }');
    await stack.liveSubscriptions(1);
    const gateway = await metricsOf(stack.gatewayInternalUrl!);
    expect(sample(gateway, 'websocket_connections', {})).toBe(1);
    expect(sample(gateway, 'graphql_subscriptions_active', {})).toBe(1);

    ok(
      await stack.query(
        'mutation { sendDirectMessage(input: { recipientId: "2", text: "metrics" }) { message { id } } }',
        {},
        { token: await stack.login('alice') },
      ),
    );
    await subscription.waitFor(1);
    const messaging = await metricsOf(stack.subgraphUrls.messaging);
    expect(sample(messaging, 'pubsub_published_total', {})).toBeGreaterThan(0);
    expect(sample(messaging, 'pubsub_delivered_total', {})).toBeGreaterThan(0);
    expect(sample(messaging, 'websocket_connections', {})).toBe(1);

    await stack.closeClients();
    await eventually(
      async () => sample(await metricsOf(stack.gatewayInternalUrl!), 'graphql_subscriptions_active', {}) === 0,
    );
    expect(sample(await metricsOf(stack.gatewayInternalUrl!), 'websocket_connections', {})).toBe(0);
  });
});

describe('logs', () => {
  it('should follow one request across services by its request id', async () => {
    const requestId = randomUUID();
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ query: 'query Traced { profile(username: "bob") { user { fullName } } }' }),
    });
    expect(response.headers.get('x-request-id')).toBe(requestId);
    await eventually(() => logs.filter((line) => line.includes(requestId)).length >= 3);
    const services = logs
      .filter((line) => line.includes(requestId))
      .map((line) => JSON.parse(line) as { service: string; requestId: string })
      .map((entry) => entry.service);
    expect(new Set(services)).toEqual(new Set(['gateway', 'threads', 'instagram']));
  });

  it("should follow a WebSocket's subscriptions into the subgraphs by the request id of its upgrade", async () => {
    const requestId = randomUUID();
    const bob = await stack.login('bob');
    const client = stack.wsClient(bob, {
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: { 'x-request-id': requestId } });
        }
      },
    });
    const subscription = subscribe(client, 'subscription { directMessageReceived { id sender { username } } }');
    await stack.liveSubscriptions(1);
    ok(
      await stack.query(
        'mutation { sendDirectMessage(input: { recipientId: "2", text: "traced" }) { message { id } } }',
        {},
        { token: await stack.login('alice') },
      ),
    );
    await subscription.waitFor(1);
    // Messaging serves the subscription; Instagram answers the event's `sender` for the gateway.
    await eventually(() => {
      const services = logs
        .filter((line) => line.includes(requestId))
        .map((line) => (JSON.parse(line) as { service: string }).service);
      return services.includes('instagram');
    });
    await stack.closeClients();
  });

  it('should never log passwords, tokens or message texts', async () => {
    const password = `secret-${randomUUID()}`;
    const username = `log_${Date.now().toString(36)}`;
    const signUp = ok(
      await stack.query(
        'mutation ($u: String!, $p: String!) { signUp(username: $u, password: $p, fullName: "Log Test") { token } }',
        { u: username, p: password },
      ),
    );
    const text = `private words ${randomUUID()}`;
    await stack.query(
      'mutation ($t: String!) { sendDirectMessage(input: { recipientId: "1", text: $t }) { message { id } } }',
      { t: text },
      { token: signUp.signUp.token },
    );
    await stack.query('{ viewer { id } }', {}, { token: 'not-a-real-token-but-secret' });
    const all = logs.join('\n');
    expect(all).toContain('graphql operation');
    expect(all).not.toContain(password);
    expect(all).not.toContain(signUp.signUp.token);
    expect(all).not.toContain(text);
    expect(all).not.toContain('not-a-real-token-but-secret');
  });
});
