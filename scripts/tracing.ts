/** Starts tracing when the OTEL_* variables ask for it; start.ts imports this first, before the services' modules. */
import { startTracing } from '@igt/common/tracing';

/**
 * The OpenTelemetry SDK of `npm start`, or undefined when tracing is off. The four services share this process and so
 * one resource (`supergraph`); each span's instrumentation scope (`@igt/gateway`, `@igt/instagram`, …) says whose it is.
 */
export const tracing = startTracing({ serviceName: 'supergraph' });
