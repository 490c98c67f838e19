// Messaging's rule "may the viewer message this person", in one place: the Message button and sendDirectMessage ask it.
import type { KnownUsers } from './knownUsers.js';
import type { Loaders } from './loaders.js';
import type { RelationshipProjection } from './relationshipProjection.js';

/**
 * Why the viewer may not message someone. Each caller words it its own way (button `disabledReason` / send error):
 * - `SIGN_IN_REQUIRED`: `SIGN_IN_REQUIRED` / UNAUTHENTICATED (a send checks that first);
 * - `SELF`: `SELF` / BAD_USER_INPUT;
 * - `NO_SUCH_USER`: no button (null) / NOT_FOUND "No user has id X.";
 * - `HIDDEN`: `BLOCKED` (Threads hides the blocker's profile, so it is rarely asked) / NOT_FOUND, exactly as for
 *   `NO_SUCH_USER`;
 * - `RECIPIENT_BLOCKED`: `BLOCKED` / RECIPIENT_BLOCKED.
 */
export type MessageRefusal =
  /** The viewer is anonymous. */
  | 'SIGN_IN_REQUIRED'
  /** The recipient is the viewer. */
  | 'SELF'
  /** Nothing shows that the id names an account (knownUsers.ts). */
  | 'NO_SUCH_USER'
  /** The recipient has blocked the viewer, so they do not exist for the viewer (hiddenFrom.ts); wins over the next. */
  | 'HIDDEN'
  /** The viewer has blocked the recipient: they must unblock them first. */
  | 'RECIPIENT_BLOCKED';

/** The answer for one recipient. */
export type MessagePermission = { allowed: true } | { allowed: false; reason: MessageRefusal };

/** What canMessage reads: the request's loaders, which users exist, and the projection it brings up to date. */
export interface CanMessageServices {
  loaders: Pick<Loaders, 'blocksWithViewer'>;
  knownUsers: Pick<KnownUsers, 'existing'>;
  relationships: Pick<RelationshipProjection, 'catchUp'>;
}

const ALLOWED: MessagePermission = { allowed: true };
const refused = (reason: MessageRefusal): MessagePermission => ({ allowed: false, reason });

/**
 * The part of the rule that needs no data: an anonymous viewer, or a message to oneself. canMessage starts from it;
 * sendDirectMessage also asks it up front, so that a message to oneself is refused before it counts against the
 * sending limits.
 */
export function refusalWithoutLookup(viewerId: number | null, recipientId: number): MessageRefusal | null {
  if (viewerId === null) return 'SIGN_IN_REQUIRED';
  if (recipientId === viewerId) return 'SELF';
  return null;
}

/**
 * Whether `viewerId` may message each of `recipientIds`, by recipient id. For a batch (a page of profiles), whatever
 * its length: at most one catch-up with Instagram's relationships stream, one read of blocks (through the request's
 * `blocksWithViewer` loader) and one of known users. The catch-up is strict, so a block Instagram has acknowledged
 * counts at once, and when the stream cannot be read this throws SERVICE_UNAVAILABLE rather than decide on stale
 * blocks. Nothing is caught up or read when no recipient needs it (anonymous viewer, oneself).
 */
export async function canMessage(
  { loaders, knownUsers, relationships }: CanMessageServices,
  viewerId: number | null,
  recipientIds: readonly number[],
): Promise<Map<number, MessagePermission>> {
  const permissions = new Map<number, MessagePermission>();
  const others: number[] = [];
  for (const id of new Set(recipientIds)) {
    const refusal = refusalWithoutLookup(viewerId, id);
    if (refusal) permissions.set(id, refused(refusal));
    else others.push(id);
  }
  if (!others.length) return permissions;

  await relationships.catchUp();
  const [existing, blocks] = await Promise.all([
    knownUsers.existing(others),
    loaders.blocksWithViewer.loadMany(others),
  ]);
  others.forEach((id, index) => {
    const between = blocks[index];
    if (between instanceof Error) throw between;
    if (!existing.has(id)) permissions.set(id, refused('NO_SUCH_USER'));
    else if (between?.blockedViewer) permissions.set(id, refused('HIDDEN'));
    else if (between?.viewerBlocked) permissions.set(id, refused('RECIPIENT_BLOCKED'));
    else permissions.set(id, ALLOWED);
  });
  return permissions;
}
