// Messaging's rule "which folder of the recipient's inbox a conversation's first message lands in", in one place.
import { and, eq, inArray } from 'drizzle-orm';
import type { Db, DbTransaction } from '@igt/common';
import * as schema from './db/schema.js';
import type { InboxFolder } from './mailbox.js';

const { follows } = schema;

/**
 * Each recipient's folder for a conversation that `senderId` starts (a first message, or a group they create or add
 * people to), by recipient id: PRIMARY when the recipient follows the sender (from Messaging's projection of
 * Instagram's follows, which a send has caught up first), otherwise REQUESTS. One query whatever the number of
 * recipients. Later messages never move it back: mailbox.ts shows a declined request again and files it under
 * Primary for whoever replies.
 */
export async function firstMessageFolders(
  db: Db<typeof schema> | DbTransaction<typeof schema>,
  senderId: number,
  recipientIds: readonly number[],
): Promise<Map<number, InboxFolder>> {
  const following = recipientIds.length
    ? await db
        .select({ followerId: follows.followerId })
        .from(follows)
        .where(and(inArray(follows.followerId, [...recipientIds]), eq(follows.followeeId, senderId)))
    : [];
  const followers = new Set(following.map((row) => row.followerId));
  return new Map(recipientIds.map((id) => [id, followers.has(id) ? 'PRIMARY' : 'REQUESTS']));
}

/** `firstMessageFolders` for one recipient: the folder a one-to-one conversation's first message lands in for them. */
export async function firstMessageFolder(
  db: Db<typeof schema> | DbTransaction<typeof schema>,
  senderId: number,
  recipientId: number,
): Promise<InboxFolder> {
  return (await firstMessageFolders(db, senderId, [recipientId])).get(recipientId)!;
}
