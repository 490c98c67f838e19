/** Relay connections: page sizes, opaque cursors and pages built from one row too many. */
import { badUserInput } from './errors.js';

/** Relay page info. */
export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** A Relay connection over rows of type T. */
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

/** Page size when a list field is asked for without `first` (or `last`). */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest page a client may ask for: it bounds the rows, and loader work, one list field can cost. */
const MAX_PAGE_SIZE = 100;

/** Validates a page size (`first` or `last`): 1 to 100, 20 when omitted. */
export function pageSize(value: number | null | undefined, argument = 'first'): number {
  if (value === null || value === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw badUserInput(`\`${argument}\` must be between 1 and ${MAX_PAGE_SIZE}, got ${value}.`, argument);
  }
  return value;
}

/**
 * Cursors are opaque to clients: base64url of `<kind>:<position>`. Positions are keys that never change (ids, or
 * id-backed sort keys), so a page boundary stays put when new rows are inserted.
 */
export function encodeCursor(kind: string, position: string): string {
  return Buffer.from(`${kind}:${position}`, 'utf8').toString('base64url');
}

/** Decodes a cursor made by `encodeCursor` for `kind`; anything else is BAD_USER_INPUT naming `argument`. */
function decodeCursor(kind: string, cursor: string | null | undefined, argument = 'after'): string | null {
  if (cursor === null || cursor === undefined) return null;
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const prefix = `${kind}:`;
  if (!decoded.startsWith(prefix) || decoded.length === prefix.length) {
    throw badUserInput(`\`${argument}\` is not a valid cursor; pass an endCursor from this connection.`, argument);
  }
  return decoded.slice(prefix.length);
}

/** Decodes an id cursor (positive integer position). */
export function decodeIdCursor(kind: string, cursor: string | null | undefined, argument = 'after'): number | null {
  const position = decodeCursor(kind, cursor, argument);
  if (position === null) return null;
  if (!/^\d{1,15}$/.test(position)) {
    throw badUserInput(`\`${argument}\` is not a valid cursor; pass an endCursor from this connection.`, argument);
  }
  return Number(position);
}

/**
 * Builds a forward connection from up to `size + 1` rows fetched past the cursor: the extra row only tells that
 * there is a next page.
 */
export function forwardConnection<T>(
  rows: T[],
  size: number,
  cursorOf: (row: T) => string,
  hasPreviousPage = false,
): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > size,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
