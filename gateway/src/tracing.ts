/** Starts tracing when the OTEL_* variables ask for it; index.ts imports this first, before the service's modules. */
import { startTracing } from '@igt/common/tracing';

/** The gateway service's OpenTelemetry SDK, or undefined when tracing is off. */
export const tracing = startTracing({ serviceName: 'gateway' });
