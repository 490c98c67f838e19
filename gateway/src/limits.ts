/** What one operation may ask of the graph, and what errors may reveal of the schema. */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type ValidationContext,
} from 'graphql';
import { codedError, DEFAULT_PAGE_SIZE, ErrorCode } from '@igt/common';

/** Nesting, aliases and directives one operation may hold. */
export const OPERATION_LIMITS = { depth: 12, aliases: 15, directives: 20 } as const;

/**
 * The most one operation may cost, as `operationCost` estimates it. A feed screen of 20 threads, each with its
 * author's profile and account and 3 reply previews, costs about 16,000 (test/gateway.test.ts sends it); 100
 * threads with 100 replies each about 550,000.
 */
export const MAX_OPERATION_COST = 25_000;

/** Costs of `operationCost`: a scalar field, an object field, and the factor each level of nesting weighs. */
const SCALAR_COST = 1;
const OBJECT_COST = 2;
const DEPTH_FACTOR = 1.5;

/**
 * graphql-armor reports its limits as "Syntax Error: …" and throws them; each is reported here as what it is, a
 * validation failure, so every limit the operation breaks is listed.
 */
const reportPlainly = [
  (context: ValidationContext | null, error: GraphQLError) => {
    // Only the parser-level token limit runs without a context, and it is off.
    if (!context) throw error;
    context.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
  },
];

/**
 * Limits on what one operation may ask for, so a single request cannot make the graph do unbounded work: depth,
 * aliases and directives when it is validated, and its estimated cost once its variables are known (the
 * `costLimit` plugin). Sized so the deepest real client operations (an inbox page with each conversation's
 * messages, reactions and senders) pass with room to spare.
 */
export function operationLimits<TContext extends BaseContext>() {
  const { plugins, validationRules } = new ApolloArmor({
    maxDepth: { n: OPERATION_LIMITS.depth, onReject: reportPlainly, propagateOnRejection: false },
    maxAliases: { n: OPERATION_LIMITS.aliases, onReject: reportPlainly, propagateOnRejection: false },
    maxDirectives: { n: OPERATION_LIMITS.directives, onReject: reportPlainly, propagateOnRejection: false },
    // Its parser plugin reports syntax errors as validation failures; the 1 MiB body limit already bounds parsing.
    maxTokens: { enabled: false },
    // Its estimate reads `first` only when written in the document: `first: $n` or no `first` would count as one item.
    costLimit: { enabled: false },
    // Schema hints are taken out of every error the gateway sends instead (see withoutSchemaHints).
    blockFieldSuggestion: { enabled: false },
  }).protect();
  // graphql-armor is typed against Apollo Server's CommonJS declarations; the plugins are the same objects.
  return { plugins: [...(plugins as unknown as ApolloServerPlugin<TContext>[]), costLimit], validationRules };
}

/**
 * Estimates what an operation costs the graph before it runs: a scalar field 1, an object field 2 plus 1.5 × what
 * it selects, and a paginated field (one taking `first` or `last`) times its page size: the one given in the document
 * or in a variable, or the default page size when none is.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): number {
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  // A fragment costs the same wherever it is spread: counted once, however many times (validation rules out cycles).
  const fragmentCosts = new Map<string, number>();
  const defaults = new Map(
    (operation.variableDefinitions ?? []).map((definition) => [
      definition.variable.name.value,
      definition.defaultValue?.kind === Kind.INT ? Number(definition.defaultValue.value) : undefined,
    ]),
  );
  const pageSize = (field: FieldNode): number => {
    let size = DEFAULT_PAGE_SIZE;
    for (const argument of field.arguments ?? []) {
      if (argument.name.value !== 'first' && argument.name.value !== 'last') continue;
      const { value } = argument;
      const given =
        value.kind === Kind.INT
          ? Number(value.value)
          : value.kind === Kind.VARIABLE
            ? (variables[value.name.value] ?? defaults.get(value.name.value))
            : undefined;
      if (typeof given === 'number' && Number.isInteger(given) && given > 0) size = given;
    }
    return size;
  };
  const selectionsCost = (type: GraphQLNamedType | undefined, selections: readonly SelectionNode[]): number =>
    selections.reduce((total, selection) => {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        return total + selectionsCost(condition, selection.selectionSet.selections);
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        let cost = fragmentCosts.get(name);
        if (cost === undefined) {
          const fragment = fragments.get(name);
          cost = fragment
            ? selectionsCost(schema.getType(fragment.typeCondition.name.value), fragment.selectionSet.selections)
            : 0;
          fragmentCosts.set(name, cost);
        }
        return total + cost;
      }
      if (selection.name.value.startsWith('__')) return total;
      if (!selection.selectionSet) return total + SCALAR_COST;
      const definition =
        isObjectType(type) || isInterfaceType(type) ? type.getFields()[selection.name.value] : undefined;
      const paginated = definition?.args.some((argument) => argument.name === 'first' || argument.name === 'last');
      const inner = selectionsCost(
        definition ? getNamedType(definition.type) : undefined,
        selection.selectionSet.selections,
      );
      return total + (OBJECT_COST + DEPTH_FACTOR * inner) * (paginated ? pageSize(selection) : 1);
    }, 0);
  return selectionsCost(schema.getRootType(operation.operation) ?? undefined, operation.selectionSet.selections);
}

/** The refusal of an operation that costs more than MAX_OPERATION_COST, or null when it fits. */
export function costLimitError(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): GraphQLError | null {
  const cost = Math.ceil(operationCost(schema, document, operation, variables));
  if (cost <= MAX_OPERATION_COST) return null;
  return codedError(
    ErrorCode.ValidationFailed,
    `The operation would cost about ${cost}, over the limit of ${MAX_OPERATION_COST}: ask for smaller pages ` +
      '(`first`, `last`) or fewer nested lists.',
    { cost, maxCost: MAX_OPERATION_COST },
  );
}

/** Refuses, before any subgraph is asked, an operation whose estimated cost is over the limit (400). */
const costLimit: ApolloServerPlugin<BaseContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ schema, document, operation, request }) {
        // An operation that cannot be found is refused as such (see operationResolution).
        if (!operation) return;
        const error = costLimitError(schema, document, operation, request.variables ?? {});
        if (error)
          throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
      },
    };
  },
};

/**
 * Wraps an error formatter so that, with introspection off, no error hints at the schema: graphql-js suggests
 * field, argument, type and enum value names ("Did you mean …?") in validation and variable-coercion errors alike,
 * over HTTP and WebSocket.
 */
export function withoutSchemaHints<
  TFormat extends (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
>(format: TFormat, hide: boolean): TFormat {
  if (!hide) return format;
  return ((formatted, error) => {
    const result = format(formatted, error);
    return { ...result, message: result.message.replace(/\s*Did you mean .*$/s, '') };
  }) as TFormat;
}
