// Each person's inbox event log: recording events (under mailbox locks), announcing them, and reading them back.
import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Db, Logger, PubSub } from '@igt/common';
import * as schema from './db/schema.js';
import { viewersSideOf, withinMembership } from './conversationSides.js';
import { visibleTo } from './hiddenFrom.js';
import { inboxChannel, type InboxAnnouncement, type InboxLog } from './inboxChannel.js';
import type { Tx } from './mailbox.js';
import type { InboxEventModel } from './models.js';

const { blocks, inboxEvents, mailboxes, messages, participants } = schema;

/** What one event records; who it reaches is said apart (`InboxEventEntry`), and the log adds the rest. */
export type InboxEventDetails = Omit<typeof inboxEvents.$inferInsert, 'id' | 'userId' | 'at'>;

/** One event to record, for each of `recipients` (who must be locked: conversationChanges.ts). */
export interface InboxEventEntry {
  recipients: readonly number[];
  details: InboxEventDetails;
}

/** One recorded event, as announced: whose log, its id, and the id before it in that log. */
export interface AppendedInboxEvent {
  userId: number;
  id: number;
  previousId: number | null;
}

/**
 * Records `entries` in their recipients' logs, inside `tx`, whose caller already holds those people's mailbox locks
 * (lockMailboxes): the events take their ids under the locks, and each mailbox's `lastEventId` moves to its newest.
 * An event is not recorded at all for someone its actor has blocked (hiddenFrom.ts: it would be hidden from them on
 * every read). Its time is the clock's under the locks, so times follow positions. Returns what to announce after
 * commit. Three statements, whatever the number of recipients.
 */
export async function appendInboxEvents(tx: Tx, entries: readonly InboxEventEntry[]): Promise<AppendedInboxEvent[]> {
  const recipients = [...new Set(entries.flatMap((entry) => entry.recipients))];
  const actors = [...new Set(entries.map((entry) => entry.details.actorId))];
  if (!recipients.length) return [];
  const blocked = new Set(
    (
      await tx
        .select({ blockerId: blocks.blockerId, blockedId: blocks.blockedId })
        .from(blocks)
        .where(and(inArray(blocks.blockerId, actors), inArray(blocks.blockedId, recipients)))
    ).map(({ blockerId, blockedId }) => `${blockerId}:${blockedId}`),
  );
  const rows = entries.flatMap(({ recipients: people, details }) =>
    people
      .filter((userId) => !blocked.has(`${details.actorId}:${userId}`))
      .map((userId) => ({ ...details, userId, at: sql`clock_timestamp()` })),
  );
  if (!rows.length) return [];
  const inserted = await tx
    .insert(inboxEvents)
    .values(rows)
    .returning({ id: inboxEvents.id, userId: inboxEvents.userId });
  const newest = new Map<number, number>();
  for (const { id, userId } of inserted) newest.set(userId, Math.max(id, newest.get(userId) ?? 0));
  // The mailbox joined a second time gives each row as it was before this update: the previous newest event.
  const moved = await tx.execute(sql`
    update ${mailboxes} box set last_event_id = latest.id
    from (values ${sql.join(
      [...newest].map(([userId, id]) => sql`(${userId}::bigint, ${id}::bigint)`),
      sql`, `,
    )}) as latest (user_id, id), ${mailboxes} before
    where box.user_id = latest.user_id and before.user_id = box.user_id
    returning box.user_id::text as "userId", before.last_event_id::text as "previousId"`);
  // Both drivers (node-postgres and PGlite) answer a raw statement with its rows under `rows`.
  const previous = new Map(
    (moved as unknown as { rows: { userId: string; previousId: string | null }[] }).rows.map((row) => [
      Number(row.userId),
      row.previousId === null ? null : Number(row.previousId),
    ]),
  );
  const appended: AppendedInboxEvent[] = [];
  for (const { id, userId } of inserted.sort((a, b) => a.id - b.id)) {
    appended.push({ userId, id, previousId: previous.get(userId) ?? null });
    previous.set(userId, id);
  }
  return appended;
}

/**
 * Announces committed events, each on its person's channel (a send announces its event with its message instead:
 * directMessages.ts). Pub/sub is at-most-once, so a failure is logged and not thrown: the events are stored, and a
 * subscriber that resumes with `after` reads them from the log.
 */
export async function publishInboxEvents(
  pubsub: PubSub,
  appended: readonly AppendedInboxEvent[],
  logger: Logger,
): Promise<void> {
  await Promise.all(
    appended.map(async ({ userId, id, previousId }) => {
      const announcement: InboxAnnouncement = { event: { id, previousId } };
      try {
        await pubsub.publish(inboxChannel(userId), announcement);
      } catch (error) {
        logger.warn({ err: error, eventId: id }, 'could not announce an inbox event; subscribers will replay it');
      }
    }),
  );
}

/**
 * `viewerId`'s events after `afterId`, oldest first, leaving out those someone who has blocked the viewer made, or
 * whose message they sent (hiddenFrom.ts), and those about a message outside the viewer's membership window (a
 * reaction to one from before they joined): the rules apply to the log as they apply to every other read. A block
 * made after the event was recorded hides it too.
 */
function eventsAfter(db: Db<typeof schema>, viewerId: number, afterId: number, limit: number) {
  return db
    .select({ event: inboxEvents })
    .from(inboxEvents)
    .leftJoin(messages, eq(messages.id, inboxEvents.messageId))
    .leftJoin(participants, viewersSideOf(inboxEvents.conversationId, viewerId))
    .where(
      and(
        eq(inboxEvents.userId, viewerId),
        gt(inboxEvents.id, afterId),
        visibleTo(db, inboxEvents.actorId, viewerId),
        // A read receipt stays when its message is hidden: `lastSeenMessage` is then null, the receipt still news.
        or(
          isNull(messages.id),
          eq(inboxEvents.kind, 'CONVERSATION_SEEN'),
          and(withinMembership(messages.id), visibleTo(db, messages.senderId, viewerId)),
        ),
      ),
    )
    .orderBy(asc(inboxEvents.id))
    .limit(limit)
    .then((rows) => rows.map((row) => row.event));
}

/** `inboxEvents`' log: announcements carry only positions, so every event is read back and the rule above applies. */
export const inboxEventLog = (db: Db<typeof schema>): InboxLog<InboxEventModel> => ({
  pick: (announcement) => announcement.event,
  fetchAfter: (viewerId, afterId, limit) => eventsAfter(db, viewerId, afterId, limit),
  head: async (viewerId) => {
    const [box] = await db
      .select({ lastEventId: mailboxes.lastEventId })
      .from(mailboxes)
      .where(eq(mailboxes.userId, viewerId));
    return box?.lastEventId ?? 0;
  },
  idOf: (event) => event.id,
  what: 'position',
});
