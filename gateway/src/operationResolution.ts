/** How the gateway refuses an operation it will not run as asked, on any transport, as the client's mistake. */
import { GraphQLError, Kind, parse, type DocumentNode, type FragmentDefinitionNode, type SelectionNode } from 'graphql';
import { codedError, ErrorCode } from '@igt/common';
import { notAcceptable } from './httpDispatch.js';

/**
 * BAD_REQUEST when a subscription's top-level field is conditional (`@skip` or `@include`, on it or on a fragment
 * around it): a subscription is its one field, so the GraphQL specification forbids that. graphql-js's own check
 * throws instead of reporting it when the condition is a variable, which would surface as a 500 or close the socket.
 */
export function conditionalSubscriptionField(document: DocumentNode): GraphQLError | null {
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  // Whether each named fragment holds a conditional selection, worked out once per fragment: a document whose
  // fragments spread each other many times would otherwise take exponential time, before validation has bounded it.
  // A fragment being worked out counts as not conditional where it is spread again (a cycle validation refuses).
  const conditionalFragments = new Map<string, boolean>();
  const conditional = (selections: readonly SelectionNode[]): boolean =>
    selections.some((selection) => {
      if (
        selection.directives?.some((directive) => directive.name.value === 'skip' || directive.name.value === 'include')
      )
        return true;
      if (selection.kind === Kind.INLINE_FRAGMENT) return conditional(selection.selectionSet.selections);
      if (selection.kind !== Kind.FRAGMENT_SPREAD) return false;
      const name = selection.name.value;
      let known = conditionalFragments.get(name);
      if (known === undefined) {
        conditionalFragments.set(name, false);
        const fragment = fragments.get(name);
        known = fragment !== undefined && conditional(fragment.selectionSet.selections);
        conditionalFragments.set(name, known);
      }
      return known;
    });
  const found = document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.operation === 'subscription' &&
      conditional(definition.selectionSet.selections),
  );
  return found
    ? codedError(ErrorCode.BadRequest, "A subscription's top-level field cannot be conditional (@skip or @include).")
    : null;
}

/** BAD_REQUEST for a document whose operation cannot be picked: an unknown name, or several operations and none named. */
export function unresolvedOperation(operationName: string | null | undefined): GraphQLError {
  const message = operationName
    ? `Unknown operation named "${operationName}".`
    : 'The document holds several operations: say which one to run with operationName.';
  return codedError(ErrorCode.BadRequest, message);
}

/**
 * What the HTTP endpoint refuses before Apollo Server sees the query: a conditional subscription field, which
 * graphql-js's validation would throw on (a 500) rather than report. Only a document that may hold a subscription is
 * parsed here; a syntax error is left for Apollo Server to report.
 */
export function screenHttpQuery(query: string): GraphQLError | null {
  if (!query.includes('subscription')) return null;
  try {
    return conditionalSubscriptionField(parse(query));
  } catch {
    return null;
  }
}

/**
 * Refuses, as the client's mistake (400 BAD_REQUEST), a request whose operation cannot be found: an unknown
 * `operationName`, or several operations and no name (@apollo/gateway would fail on it with a 500). The HTTP
 * subscription transports take subscriptions before Apollo Server sees them (see httpDispatch); one that reaches it
 * all the same (a persisted query sent as its hash alone) gets the same 406 as a subscription no transport takes.
 */
export const operationResolution = {
  async requestDidStart() {
    return {
      async didResolveOperation({
        operation,
        request,
      }: {
        operation?: { operation: string } | null;
        request: { operationName?: string | null; http?: { headers: Map<string, string> } };
      }) {
        if (!operation) {
          throw new GraphQLError(unresolvedOperation(request.operationName).message, {
            extensions: { code: ErrorCode.BadRequest, http: { status: 400 } },
          });
        }
        if (operation.operation === 'subscription') {
          throw new GraphQLError(notAcceptable(request.http?.headers.get('host')).message, {
            extensions: { code: ErrorCode.BadRequest, http: { status: 406 } },
          });
        }
      },
    };
  },
};
