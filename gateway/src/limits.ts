/** What one operation may ask of the graph, and what errors may reveal of the schema. */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLFormattedError } from 'graphql';

/**
 * Limits on what one operation may ask for, so a single request cannot make the graph do unbounded work: depth,
 * aliases, directives and an estimated cost. Sized so the deepest real client operations (an inbox page with
 * each conversation's messages, reactions and senders) pass with room to spare.
 */
export function operationLimits<TContext extends BaseContext>() {
  const { plugins, validationRules } = new ApolloArmor({
    maxDepth: { n: 12 },
    maxAliases: { n: 15 },
    maxDirectives: { n: 20 },
    // Its parser plugin reports syntax errors as validation failures; the 1 MiB body limit already bounds parsing.
    maxTokens: { enabled: false },
    costLimit: { maxCost: 10_000 },
    // Schema hints are taken out of every error the gateway sends instead (see withoutSchemaHints).
    blockFieldSuggestion: { enabled: false },
  }).protect();
  // graphql-armor is typed against Apollo Server's CommonJS declarations; the plugins are the same objects.
  return { plugins: plugins as unknown as ApolloServerPlugin<TContext>[], validationRules };
}

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
