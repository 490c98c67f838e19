import { pino, type DestinationStream, type Logger } from 'pino';

/** Pino's types, re-exported so services and scripts never depend on pino themselves. */
export type { DestinationStream, Logger };

/**
 * Structured JSON logs, one line per event, tagged with the service name. Secrets and message contents are
 * redacted wherever they might appear.
 */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-gateway-assertion"]',
        'headers.authorization',
        '*.password',
        '*.token',
        '*.text',
        'variables',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
