/** Paging of Threads' thread lists (feed, a profile's threads, a thread's replies): arguments, id cursors, batches. */
import type DataLoader from 'dataloader';
import { decodeIdCursor, encodeCursor, forwardConnection, pageSize } from '@igt/common';
import type { Loaders, ThreadPageKey } from './loaders.js';
import type { ThreadConnectionModel, ThreadModel } from './models.js';

/** Cursor kinds of the thread lists. Each list only accepts its own cursors. */
export type ThreadListKind = 'feed' | 'threads' | 'replies';

/** Arguments every thread list takes. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** Validates `first` and `after` up front, so a bad argument fails before any SQL runs. */
export function pageArgs(kind: ThreadListKind, args: PageArgs): { size: number; after: number | null } {
  return { size: pageSize(args.first), after: decodeIdCursor(kind, args.after) };
}

/**
 * Turns up to `size + 1` rows into a connection. Cursors hold the thread id: ids only grow, so a page boundary
 * stays put while new threads are posted.
 */
export function threadConnection(
  loaders: Loaders,
  kind: ThreadListKind,
  rows: ThreadModel[],
  size: number,
  after: number | null,
): ThreadConnectionModel {
  // Later lookups of the same threads in this request (replyTo, mutations' reloads) reuse the rows.
  for (const row of rows) loaders.threadById.prime(row.id, row);
  return forwardConnection(rows, size, (row) => encodeCursor(kind, String(row.id)), after !== null);
}

/** One page of a per-owner list (a profile's threads, a thread's replies), batched with its siblings on the page. */
export async function ownedThreadPage(
  loaders: Loaders,
  loader: DataLoader<ThreadPageKey, ThreadModel[], string>,
  kind: ThreadListKind,
  ownerId: number,
  args: PageArgs,
): Promise<ThreadConnectionModel> {
  const { size, after } = pageArgs(kind, args);
  const rows = await loader.load({ ownerId, size, after });
  return threadConnection(loaders, kind, rows, size, after);
}
