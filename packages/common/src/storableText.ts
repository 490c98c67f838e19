/** Refuses text PostgreSQL cannot store, in any argument of an operation, before any resolver runs. */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  Kind,
  visit,
  type ArgumentNode,
  type ASTNode,
  type DocumentNode,
  type GraphQLError,
  type ObjectFieldNode,
} from 'graphql';
import { unstorableText } from './errors.js';

// A NUL byte (PostgreSQL text cannot hold one) or a lone surrogate (no UTF-8 for it: drivers would store U+FFFD).
// eslint-disable-next-line no-control-regex -- the NUL byte is exactly what it looks for
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** What the check needs of a document, kept per document: Apollo Server reuses parsed documents. */
interface DocumentFindings {
  /** The argument (path) of the first literal holding unstorable text, if any. */
  literal: string | null;
  /** Each variable's argument (path) where it is first used. */
  variables: Map<string, string>;
}
const findingsCache = new WeakMap<DocumentNode, DocumentFindings>();

/** The argument and input fields a value sits in (its parent last), as the client wrote them (`input.text`). */
function argumentPath(...ancestors: readonly (ASTNode | readonly ASTNode[] | undefined)[]): string {
  return ancestors
    .filter(
      (node): node is ArgumentNode | ObjectFieldNode =>
        node !== undefined && 'kind' in node && (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD),
    )
    .map((node) => node.name.value)
    .join('.');
}

/** Reads a document once: its first unstorable literal, and where each variable goes. */
function findingsOf(document: DocumentNode): DocumentFindings {
  const cached = findingsCache.get(document);
  if (cached) return cached;
  const findings: DocumentFindings = { literal: null, variables: new Map() };
  visit(document, {
    StringValue(node, _key, parent, _path, ancestors) {
      if (findings.literal === null && UNSTORABLE.test(node.value))
        findings.literal = argumentPath(...ancestors, parent);
    },
    Variable(node, _key, parent, _path, ancestors) {
      const path = argumentPath(...ancestors, parent);
      // The definition `$input: …` sits in no argument; a usage does.
      if (path && !findings.variables.has(node.name.value)) findings.variables.set(node.name.value, path);
    },
  });
  findingsCache.set(document, findings);
  return findings;
}

/** The path of the first unstorable string in a variable's value (`input.text`, `ids[2]`), or null. */
function inValue(value: unknown, path: string): string | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, item] of Object.entries(value)) {
    const found = inValue(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

/**
 * The error for the first string in an operation (its literals, or the variables it uses) that PostgreSQL could not
 * store, or null when there is none. The error names the argument the text was given for (`fullName`, `input.text`).
 */
export function unstorableTextIn(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> = {},
): GraphQLError | null {
  const findings = findingsOf(document);
  let found = findings.literal;
  for (const [name, path] of findings.variables) {
    if (found !== null) break;
    found = inValue(variables[name], path);
  }
  return found === null ? null : unstorableText(found);
}

/**
 * Apollo Server plugin refusing, as BAD_USER_INPUT, an operation any of whose strings PostgreSQL could not store.
 * One check before execution covers every argument of every operation, so no resolver has to remember it and nothing
 * is stored; unchecked, such text fails deep in a statement (as INTERNAL_SERVER_ERROR, its parameters in the error) or,
 * for a lone surrogate, is stored altered.
 */
export function storableTextPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const error = unstorableTextIn(document, request.variables);
          if (!error) return;
          // An error thrown here answers 500 by default; 200 like a resolver's coded error, so the gateway relays it.
          error.extensions.http = { status: 200 };
          throw error;
        },
      };
    },
  };
}
