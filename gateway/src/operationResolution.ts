/** How the gateway refuses an operation it will not run as asked, on any transport, as the client's mistake. */
import { GraphQLError } from 'graphql';
import { codedError, ErrorCode } from '@igt/common';

/** BAD_REQUEST for a document whose operation cannot be picked: an unknown name, or several operations and none named. */
export function unresolvedOperation(operationName: string | null | undefined): GraphQLError {
  const message = operationName
    ? `Unknown operation named "${operationName}".`
    : 'The document holds several operations: say which one to run with operationName.';
  return codedError(ErrorCode.BadRequest, message);
}

/**
 * Refuses, as the client's mistake (400 BAD_REQUEST), a request whose operation cannot be found: an unknown
 * `operationName`, or several operations and no name (@apollo/gateway would fail on it with a 500). Refuses
 * subscriptions over HTTP with a pointer to the WebSocket endpoint.
 */
export const operationResolution = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, request }: { operation?: { operation: string } | null; request: { operationName?: string | null } }) {
        if (!operation) {
          throw new GraphQLError(unresolvedOperation(request.operationName).message, {
            extensions: { code: ErrorCode.BadRequest, http: { status: 400 } },
          });
        }
        if (operation.operation === 'subscription') {
          throw new GraphQLError(
            'Subscriptions are served over WebSocket (graphql-ws protocol) at ws://<gateway host>/graphql, not over HTTP.',
            { extensions: { code: ErrorCode.BadRequest, http: { status: 400 } } },
          );
        }
      },
    };
  },
};
