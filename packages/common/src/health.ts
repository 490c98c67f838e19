/** The health routes every service serves: liveness, and readiness that says no while stopping. */
import { sendJson, type RouteHandler } from './http.js';

/** What a readiness check found; `details` go into the response body. */
export interface Readiness {
  ready: boolean;
  details?: Record<string, unknown>;
}

/**
 * `/health/live` (the process answers), `/health/ready` and `/health` (it can serve; 503 while stopping or when
 * `checkReady` says no).
 */
export function healthRoutes(options: {
  isStopping: () => boolean;
  checkReady: () => Promise<Readiness>;
}): Record<string, RouteHandler> {
  const { isStopping, checkReady } = options;
  const ready: RouteHandler = async (_req, res) => {
    if (isStopping()) return sendJson(res, 503, { status: 'stopping' });
    const { ready: isReady, details = {} } = await checkReady();
    sendJson(res, isReady ? 200 : 503, { status: isReady ? 'ok' : 'unavailable', ...details });
  };
  return {
    '/health': ready,
    '/health/ready': ready,
    '/health/live': (_req, res) => sendJson(res, 200, { status: 'ok' }),
  };
}
