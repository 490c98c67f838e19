// Tracing: a client's request is one trace, from the gateway through the subgraphs to the database.
import { randomBytes } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '@igt/common';
import { NEW_MESSAGES } from './support/documents.js';
import { sendDm } from './support/dms.js';
import { eventually, ok, startStack, subscribe, type TestStack } from './support/harness.js';

// The stack runs in this process: the one provider registered here records the spans of every service, which the
// instrumentation scope of each span (`@igt/<service>`) tells apart.
const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let stack: TestStack;

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'tracing-test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

/** A client's trace context: a fresh trace id, the id of the client's own span, sampled. */
function clientTraceparent() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const spansOf = (traceId: string) =>
  exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
const scopeOf = (span: ReadableSpan) => span.instrumentationScope.name;
const isServerSpanOf = (service: string) => (span: ReadableSpan) =>
  scopeOf(span) === `@igt/${service}` && span.kind === SpanKind.SERVER;

/** The spans of `traceId` once one matches each of `conditions` (spans end just after their responses leave). */
async function traceWith(traceId: string, ...conditions: ((span: ReadableSpan) => boolean)[]) {
  await eventually(() => conditions.every((condition) => spansOf(traceId).some(condition)));
  return spansOf(traceId);
}

/** `span` and the spans above it in its trace, nearest first. */
function ancestry(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(spans.map((each) => [each.spanContext().spanId, each]));
  const chain = [span];
  for (let parent = byId.get(span.parentSpanContext?.spanId ?? ''); parent;) {
    chain.push(parent);
    parent = byId.get(parent.parentSpanContext?.spanId ?? '');
  }
  return chain;
}

const PROFILE = `#graphql
  query TracedProfile($username: String!) {
    profile(username: $username) {
      username
      user { fullName followerCount }
      messageAction { enabled label recipient { username } }
    }
  }`;

describe('tracing', () => {
  it('should make one trace, in the client’s trace, of a federated read: gateway, each subgraph, the database', async () => {
    const token = await stack.login('bob');
    const client = clientTraceparent();
    const result = await stack.query(
      PROFILE,
      { username: 'alice' },
      { token, headers: { traceparent: client.traceparent } },
    );
    expect(ok(result).profile.user.fullName).toEqual(expect.any(String));

    const database = (span: ReadableSpan) => scopeOf(span) === '@igt/database';
    const spans = await traceWith(
      client.traceId,
      isServerSpanOf('gateway'),
      (span) => span.name === 'gateway.request',
      (span) => span.name === 'gateway.fetch',
      isServerSpanOf('threads'),
      isServerSpanOf('instagram'),
      isServerSpanOf('messaging'),
      database,
    );

    const gateway = spans.find(isServerSpanOf('gateway'))!;
    expect(gateway.parentSpanContext?.spanId).toBe(client.spanId);
    expect(gateway.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'TracedProfile',
      'http.response.status_code': 200,
    });
    // Each subgraph's request is a child of the gateway's POST to it, which is inside the gateway's request.
    for (const service of ['threads', 'instagram', 'messaging']) {
      const chain = ancestry(spans.find(isServerSpanOf(service))!, spans);
      expect(chain[1]).toMatchObject({ kind: SpanKind.CLIENT, attributes: { 'peer.service': service } });
      expect(chain.at(-1)).toBe(gateway);
    }
    const statement = spans.find(database)!;
    expect(statement.attributes['db.system.name']).toBe('postgresql');
    expect(ancestry(statement, spans).some((span) => span.kind === SpanKind.SERVER && span !== gateway)).toBe(true);

    // Operation names and types only: no token, no variable values, no documents.
    const recorded = JSON.stringify(spans.map((span) => [span.name, span.attributes, span.events]));
    expect(recorded).not.toContain(token);
    expect(recorded).not.toContain('alice');
    expect(recorded).not.toContain('messageAction');
  });

  it('should start a new trace for a request that sends no traceparent', async () => {
    const before = new Set(exporter.getFinishedSpans().map((span) => span.spanContext().traceId));
    ok(await stack.query(PROFILE, { username: 'carol' }));
    await eventually(() =>
      exporter
        .getFinishedSpans()
        .some((span) => isServerSpanOf('gateway')(span) && !before.has(span.spanContext().traceId)),
    );
    const gateway = exporter
      .getFinishedSpans()
      .find((span) => isServerSpanOf('gateway')(span) && !before.has(span.spanContext().traceId))!;
    expect(gateway.parentSpanContext).toBeUndefined();
  });

  it('should honour a traceparent in an operation’s extensions over WebSocket', async () => {
    const client = clientTraceparent();
    const ws = stack.wsClient(await stack.login('bob'));
    const result = await new Promise<unknown>((resolve, reject) => {
      ws.subscribe(
        { query: PROFILE, variables: { username: 'alice' }, extensions: { traceparent: client.traceparent } },
        { next: resolve, error: reject, complete: () => {} },
      );
    });
    expect(result).toMatchObject({ data: { profile: { username: 'alice' } } });
    const spans = await traceWith(
      client.traceId,
      (span) => isServerSpanOf('gateway')(span) && span.name === 'query TracedProfile',
      isServerSpanOf('instagram'),
    );
    expect(spans.find(isServerSpanOf('gateway'))!.parentSpanContext?.spanId).toBe(client.spanId);
  });

  it('should carry a subscription’s traceparent to the subgraph, and link each event’s trace to it', async () => {
    const bob = await stack.login('bob');
    const client = clientTraceparent();
    const ws = stack.wsClient(bob, {
      connectionParams: { Authorization: `Bearer ${bob}`, traceparent: client.traceparent },
    });
    const subscription = subscribe(ws, NEW_MESSAGES);
    await stack.liveSubscriptions(1);

    const spans = await traceWith(
      client.traceId,
      (span) => isServerSpanOf('gateway')(span) && span.name === 'subscription NewMessages',
      isServerSpanOf('messaging'),
    );
    const started = spans.find(isServerSpanOf('gateway'))!;
    expect(started.parentSpanContext?.spanId).toBe(client.spanId);
    const upstream = spans.find(isServerSpanOf('messaging'))!;
    expect(upstream.name).toMatch(/^subscription NewMessages/);
    expect(ancestry(upstream, spans).at(-1)).toBe(started);

    const sent = await sendDm(stack, 'alice', '2', 'A traced message');
    const [event] = await subscription.waitFor(1);
    expect(event.directMessageReceived.id).toBe(sent.id);
    const isEventSpan = (span: ReadableSpan) =>
      span.name === 'subscription event NewMessages' &&
      span.links.some((link) => link.context.spanId === started.spanContext().spanId);
    await eventually(() => exporter.getFinishedSpans().some(isEventSpan));
    const completion = exporter.getFinishedSpans().find(isEventSpan)!;
    expect(completion.spanContext().traceId).not.toBe(client.traceId);
    // Completing the event fetched the sender from Instagram, in the event's trace.
    const eventTrace = await traceWith(completion.spanContext().traceId, isServerSpanOf('instagram'));
    expect(ancestry(eventTrace.find(isServerSpanOf('instagram'))!, eventTrace).at(-1)).toBe(completion);
    expect(JSON.stringify(eventTrace.map((span) => [span.attributes, span.events]))).not.toContain('A traced message');
    subscription.unsubscribe();
  });
});
