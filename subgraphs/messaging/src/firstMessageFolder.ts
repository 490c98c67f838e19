// Messaging's rule "which folder of the recipient's inbox a conversation's first message lands in", in one place.
import { and, eq } from 'drizzle-orm';
import type { Db, DbTransaction } from '@igt/common';
import * as schema from './db/schema.js';
import type { InboxFolder } from './mailbox.js';

const { follows } = schema;

/**
 * The recipient's folder for a conversation that `senderId`'s message starts: PRIMARY when the recipient follows the
 * sender (from Messaging's projection of Instagram's follows, which a send has caught up first), otherwise REQUESTS.
 * Later messages never move it back: mailbox.ts shows a declined request again and files it under Primary for whoever
 * replies.
 */
export async function firstMessageFolder(
  db: Db<typeof schema> | DbTransaction<typeof schema>,
  senderId: number,
  recipientId: number,
): Promise<InboxFolder> {
  const [follow] = await db
    .select({ followerId: follows.followerId })
    .from(follows)
    .where(and(eq(follows.followerId, recipientId), eq(follows.followeeId, senderId)))
    .limit(1);
  return follow ? 'PRIMARY' : 'REQUESTS';
}
