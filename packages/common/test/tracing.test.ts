/** Tracing is off unless the standard OTEL_* variables ask for it, and then costs no SDK at all. */
import { createRequire } from 'node:module';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { remoteParent, startTracing, traceCarrier, tracingRequested } from '../src/index.js';

describe('tracingRequested', () => {
  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://localhost:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_SERVICE_NAME: 'gateway' }, false],
  ])('should read %j as %s', (env, expected) => {
    expect(tracingRequested(env)).toBe(expected);
  });
});

describe('startTracing', () => {
  it('should register no tracer provider and load no SDK when nothing is configured', () => {
    expect(startTracing({ serviceName: 'gateway', env: {} })).toBeUndefined();
    expect(startTracing({ serviceName: 'gateway', env: { OTEL_TRACES_EXPORTER: 'none' } })).toBeUndefined();
    const span = trace.getTracer('test').startSpan('anything');
    expect(span.isRecording()).toBe(false);
    span.end();
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((path) => path.includes('@opentelemetry/sdk-'))).toEqual([]);
  });

  it('should pass no trace context on, whatever a client sent, when off', () => {
    const parent = remoteParent({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(traceCarrier(parent)).toEqual({});
  });
});
