/** `@defer` on queries over HTTP: the directive validation knows, which requests are deferred queries, and the plugin. */
import {
  HeaderMap,
  type ApolloServerOptionsWithGateway,
  type ApolloServerPlugin,
  type GraphQLRequestContextResponseForOperation,
  type GraphQLRequestListener,
  type GraphQLResponse,
} from '@apollo/server';
import {
  DirectiveLocation,
  execute,
  getVariableValues,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLNonNull,
  GraphQLSchema,
  GraphQLString,
  GraphQLError,
  Kind,
  print,
  type ASTVisitor,
  type DefinitionNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLFormattedError,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import Negotiator from 'negotiator';
import type { Logger } from '@igt/common';
import type { GatewayContext } from './context.js';
import type { DeferredQueryExecutor, SubsequentResult } from './deferredExecution.js';

/** `@defer` as the incremental delivery proposal defines it, for the schema Apollo Server validates operations with. */
export const DEFER_DIRECTIVE = new GraphQLDirective({
  name: 'defer',
  description:
    "Sends this fragment's fields after the rest of the result, in a later part of a `multipart/mixed` response, to a " +
    'client that accepts `multipart/mixed;deferSpec=20220824`; any other client gets the whole result at once.',
  locations: [DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
  args: {
    if: {
      type: new GraphQLNonNull(GraphQLBoolean),
      defaultValue: true,
      description: 'Deferred only when true; when false the fragment comes with the rest of the result.',
    },
    label: {
      type: GraphQLString,
      description: "Sent back with the fragment's payload, so the client can tell payloads apart.",
    },
  },
});

type Gateway = ApolloServerOptionsWithGateway<GatewayContext>['gateway'];

/** True for a query that asks only for introspection (`__schema`, `__type`, `__typename` at its root). */
function isIntrospectionOnly(operation: OperationDefinitionNode | undefined): boolean {
  return (
    operation?.operation === 'query' &&
    operation.selectionSet.selections.every(
      (selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith('__'),
    )
  );
}

/**
 * The gateway as Apollo Server sees it, with `@defer` added to the API schema it hands over: validation then accepts
 * `@defer`, while the subgraph SDLs and the gateway's own schema stay as they are. `@apollo/gateway` answers
 * introspection from its own schema, which lacks `@defer`; an introspection query is answered here from the schema
 * with it, so tools that read the schema (explorers, client code generators) accept `@defer` too.
 */
export function withDeferDirective(gateway: Gateway): Gateway {
  return {
    load: async (options) => {
      const loaded = await gateway.load(options);
      const { executor } = loaded;
      if (!executor) return loaded;
      return {
        ...loaded,
        executor: async (request) =>
          isIntrospectionOnly(request.operation)
            ? execute({
                schema: request.schema,
                document: request.document,
                operationName: request.operationName,
                variableValues: request.request.variables,
              })
            : executor(request),
      };
    },
    stop: () => gateway.stop(),
    onSchemaLoadOrUpdate: (callback) =>
      gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) =>
        callback({ apiSchema: schemaWithDefer(apiSchema), coreSupergraphSdl }),
      ),
  };
}

/** An API schema with `@defer` added: the schema clients see through the gateway (and schema/api.graphql holds). */
export function schemaWithDefer(schema: GraphQLSchema): GraphQLSchema {
  if (schema.getDirective(DEFER_DIRECTIVE.name)) return schema;
  const config = schema.toConfig();
  return new GraphQLSchema({ ...config, directives: [...config.directives, DEFER_DIRECTIVE] });
}

/**
 * Validation rule: each `@defer` label is a string written in the document and no other `@defer` has it, as the
 * incremental delivery proposal requires, so a client can tell its payloads apart by label.
 */
export function deferLabelsRule(context: ValidationContext): ASTVisitor {
  const seen = new Set<string>();
  return {
    Directive(directive) {
      if (directive.name.value !== DEFER_DIRECTIVE.name) return;
      const label = directive.arguments?.find((argument) => argument.name.value === 'label');
      if (!label) return;
      if (label.value.kind !== Kind.STRING) {
        context.reportError(
          new GraphQLError(`The label of @defer must be a string literal, got ${print(label.value)}.`, {
            nodes: label,
          }),
        );
      } else if (seen.has(label.value.value)) {
        context.reportError(
          new GraphQLError(`Another @defer has the label "${label.value.value}" already: labels must be unique.`, {
            nodes: label,
          }),
        );
      } else {
        seen.add(label.value.value);
      }
    },
  };
}

/**
 * Validation rule: no introspection (`__schema`, `__type`) within a deferred fragment. The query planner cannot plan
 * it, deferred or not (stock @apollo/gateway fails such a query with an internal error), and the schema is the same
 * in every part anyway: ask for it outside `@defer`.
 */
export function deferredIntrospectionRule(context: ValidationContext): ASTVisitor {
  /** Whether `set` asks for introspection, through fields and fragments (each named fragment looked at once). */
  const introspects = (set: SelectionSetNode, seen: Set<string>): boolean =>
    set.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) {
        const { value } = selection.name;
        return (
          value === '__schema' ||
          value === '__type' ||
          (!!selection.selectionSet && introspects(selection.selectionSet, seen))
        );
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) return introspects(selection.selectionSet, seen);
      if (seen.has(selection.name.value)) return false;
      seen.add(selection.name.value);
      const fragment = context.getFragment(selection.name.value);
      return fragment !== null && fragment !== undefined && introspects(fragment.selectionSet, seen);
    });
  const check = (node: InlineFragmentNode | FragmentSpreadNode) => {
    if (!node.directives?.some((directive) => directive.name.value === DEFER_DIRECTIVE.name)) return;
    const set =
      node.kind === Kind.INLINE_FRAGMENT ? node.selectionSet : context.getFragment(node.name.value)?.selectionSet;
    if (set && introspects(set, new Set())) {
      context.reportError(
        new GraphQLError('Introspection (`__schema`, `__type`) cannot be deferred: ask for it outside @defer.', {
          nodes: node,
        }),
      );
    }
  };
  return { InlineFragment: check, FragmentSpread: check };
}

/** The incremental delivery format this gateway writes: the one Apollo Client 4's `Defer20220824Handler` reads. */
const DEFER_SPEC_20220824 = 'multipart/mixed; deferSpec=20220824';
/** The multipart media types Apollo Server's HTTP layer chooses among for an incremental response, as it lists them. */
const MULTIPART_MEDIA_TYPES = ['multipart/mixed', 'multipart/mixed; incrementalSpec=v0.2', DEFER_SPEC_20220824];
/** A use of `@defer` somewhere in a document's text (perhaps in a string or comment: only a first, cheap look). */
const DEFER_USE = /@\s*defer\b/;

/**
 * Whether this gateway answers a request in parts: a query whose text uses `@defer`, from a client whose Accept header
 * prefers the 2022-08-24 multipart format (the choice Apollo Server's HTTP layer makes again when it writes the
 * response). Any other request, a client that does not accept multipart included, runs as an ordinary query, with
 * `@defer` ignored: the whole result in one response, as the incremental delivery proposal allows.
 */
export function isDeferredQuery(
  source: string | undefined,
  operation: OperationDefinitionNode | undefined,
  accept: string | undefined,
): boolean {
  return (
    source !== undefined &&
    DEFER_USE.test(source) &&
    operation?.operation === 'query' &&
    accept !== undefined &&
    new Negotiator({ headers: { accept } }).mediaType(MULTIPART_MEDIA_TYPES) === DEFER_SPEC_20220824
  );
}

const isFragment = (definition: DefinitionNode): definition is FragmentDefinitionNode =>
  definition.kind === Kind.FRAGMENT_DEFINITION;

/**
 * Answers deferred queries (see `isDeferredQuery`) with an incremental response once Apollo Server has parsed and
 * validated them (operation limits included) and built their context (so signed in or refused as any query): the
 * primary part first, `{ data, hasNext: true }`, then `{ incremental: [{ data, path, label? }], hasNext }` parts.
 * Errors are formatted with `formatError`, each in the part it belongs to. Apollo Server's own log line and metrics for
 * the request (observabilityPlugin) cover the primary part; `logger` gets one more line once the deferred parts are
 * sent. Every other operation goes on to the gateway untouched.
 */
export function deferredQueries(
  executor: DeferredQueryExecutor,
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
  logger: Logger,
): ApolloServerPlugin<GatewayContext> {
  const formatted = (errors: readonly GraphQLError[] | undefined) =>
    errors?.length ? { errors: errors.map((error) => formatError(error.toJSON(), error)) } : {};
  /** The deferred parts, formatted; once all are sent, one log line says how they went (the request's own came first). */
  async function* subsequentResults(results: AsyncIterable<SubsequentResult>, requestId: string, operation: string) {
    const started = performance.now();
    const codes: string[] = [];
    for await (const { incremental, hasNext } of results) {
      if (!incremental) {
        yield { hasNext };
        continue;
      }
      const payloads = incremental.map(({ errors, ...payload }) => ({ ...payload, ...formatted(errors) }));
      codes.push(
        ...payloads.flatMap((payload) => payload.errors?.map((error) => String(error.extensions?.code)) ?? []),
      );
      yield { incremental: payloads, hasNext };
    }
    logger.info(
      {
        requestId,
        operation,
        outcome: codes[0] ?? 'ok',
        errorCodes: codes.length ? codes : undefined,
        ms: Math.round(performance.now() - started),
      },
      'deferred parts sent',
    );
  }
  const listener: GraphQLRequestListener<GatewayContext> = {
    async responseForOperation({
      source,
      operation,
      request,
      document,
      schema,
      contextValue,
    }: GraphQLRequestContextResponseForOperation<GatewayContext>): Promise<GraphQLResponse | null> {
      if (!isDeferredQuery(source, operation, request.http?.headers.get('accept'))) return null;
      const variables = request.variables ?? {};
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
      // Variables that do not fit are refused by the gateway as for any query.
      if (coerced.errors) return null;
      const execution = await executor.execute({
        operation,
        fragments: Object.fromEntries(document.definitions.filter(isFragment).map((f) => [f.name.value, f])),
        variables,
        coercedVariables: coerced.coerced,
        context: contextValue,
      });
      if (!execution) return null;
      const { initial, subsequent } = execution;
      return {
        http: { headers: new HeaderMap() },
        body: {
          kind: 'incremental',
          initialResult: {
            ...formatted(initial.errors),
            data: initial.data,
            ...(initial.extensions ? { extensions: initial.extensions } : {}),
            hasNext: true,
          },
          subsequentResults: subsequentResults(
            subsequent,
            contextValue.requestId,
            operation.name?.value ?? 'anonymous',
          ),
        },
      };
    },
  };
  return { requestDidStart: async () => listener };
}
