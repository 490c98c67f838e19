/** The gateway's per-request (and per-WebSocket) context: the viewer and the assertion subgraphs require. */
import { randomUUID } from 'node:crypto';
import { GATEWAY_ASSERTION_REFRESH_MS, signGatewayAssertion, type Viewer } from '@igt/common';

/** Per-request (or per-WebSocket-connection) context of the gateway. */
export interface GatewayContext {
  viewer: Viewer | null;
  requestId: string;
  /**
   * The signed assertion of `viewer` that subgraphs require. Reused while young, signed anew once older than
   * GATEWAY_ASSERTION_REFRESH_MS: a WebSocket connection lives far longer than an assertion is accepted.
   */
  assertion(): Promise<string>;
}

/**
 * Builds a gateway context for a verified viewer. `clientAddress` is the client socket's remote address: it goes into
 * the signed assertion, so a subgraph's rate limits count by an address the client cannot forge.
 */
export function createGatewayContext(
  viewer: Viewer | null,
  gatewaySecret: string,
  {
    clientAddress,
    requestId = randomUUID(),
  }: { clientAddress?: string | undefined; requestId?: string | undefined } = {},
): GatewayContext {
  let assertion: Promise<string> | undefined;
  let signedAt = 0;
  return {
    viewer,
    requestId,
    assertion() {
      if (!assertion || Date.now() - signedAt >= GATEWAY_ASSERTION_REFRESH_MS) {
        signedAt = Date.now();
        assertion = signGatewayAssertion(viewer, gatewaySecret, clientAddress);
      }
      return assertion;
    },
  };
}
