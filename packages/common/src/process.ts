/** How a service's entry point runs: until SIGTERM or SIGINT, then a graceful stop; the values it needs standalone. */
import type { Logger } from './logger.js';

// Ctrl-C reaches npm, tsx and node together and tsx relays it too, so one keypress can arrive twice at once.
const REPEAT_SIGNAL_GRACE_MS = 1_500;

/**
 * Runs a service until SIGTERM or SIGINT, then stops it gracefully; a second signal a moment later exits at once.
 * Start-up failures are logged and exit with status 1.
 */
export async function runUntilSignalled(
  logger: Logger,
  start: () => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  let running: { stop(): Promise<void> };
  try {
    running = await start();
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  }
  let stoppingSince: number | undefined;
  const shutdown = async (signal: string) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < REPEAT_SIGNAL_GRACE_MS) return;
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info(`${signal}: shutting down`);
    try {
      await running.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Values a service needs outside the embedded mode; throws naming the first one missing. */
export function requireForStandalone(
  service: string,
  values: Record<string, string | undefined>,
): Record<string, string> {
  for (const [name, value] of Object.entries(values)) {
    if (!value) {
      throw new Error(
        `${name} is required to run the ${service} service on its own (npm start runs everything in one process on an embedded database instead).`,
      );
    }
  }
  return values as Record<string, string>;
}
