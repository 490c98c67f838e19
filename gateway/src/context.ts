import { randomUUID } from 'node:crypto';
import { signGatewayAssertion, type Viewer } from '@igt/common';

/** Per-request (or per-WebSocket-connection) context of the gateway. */
export interface GatewayContext {
  viewer: Viewer | null;
  requestId: string;
  /** The signed assertion of `viewer` that subgraphs require, made once per request. */
  assertion(): Promise<string>;
}

/** Builds a gateway context for a verified viewer. */
export function createGatewayContext(viewer: Viewer | null, gatewaySecret: string, requestId: string = randomUUID()): GatewayContext {
  let assertion: Promise<string> | undefined;
  return {
    viewer,
    requestId,
    assertion: () => (assertion ??= signGatewayAssertion(viewer, gatewaySecret)),
  };
}
