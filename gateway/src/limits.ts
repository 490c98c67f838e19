import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';

/**
 * Limits on what one operation may ask for, so a single request cannot make the graph do unbounded work: depth,
 * aliases, directives and an estimated cost. Sized so the deepest real client operations (an inbox page with
 * each conversation's messages, reactions and senders) pass with room to spare.
 */
export function operationLimits<TContext extends BaseContext>({ introspection }: { introspection: boolean }) {
  const { plugins, validationRules } = new ApolloArmor({
    maxDepth: { n: 12 },
    maxAliases: { n: 15 },
    maxDirectives: { n: 20 },
    // Its parser plugin reports syntax errors as validation failures; the 1 MiB body limit already bounds parsing.
    maxTokens: { enabled: false },
    costLimit: { maxCost: 10_000 },
    // "Did you mean …?" hints reveal the schema; keep them only while introspection shows it anyway.
    blockFieldSuggestion: { enabled: !introspection },
  }).protect();
  // graphql-armor is typed against Apollo Server's CommonJS declarations; the plugins are the same objects.
  return { plugins: plugins as unknown as ApolloServerPlugin<TContext>[], validationRules };
}
