/** Announcements on a person's inbox channel: what a stream trusts as it stands and what it reads back from the log. */
import { describe, expect, it } from 'vitest';
import { directMessageLog } from '../src/directMessages.js';
import { isInboxAnnouncement, type WireMessage } from '../src/inboxChannel.js';

// Picking from an announcement reads no database.
const log = directMessageLog(undefined as never);

const whole: WireMessage = {
  id: 7,
  conversationId: 3,
  senderId: 1,
  text: 'hi',
  source: 'INSTAGRAM',
  idempotencyKey: null,
  sentAt: '2026-12-01T20:00:00.000Z',
  unsent: false,
  unsentAt: null,
};

describe('inbox announcements', () => {
  it('should deliver a whole announced message as it stands', () => {
    const event = log.pick({ message: { message: whole, previousMessageId: 6 } });
    expect(event).toMatchObject({ id: 7, previousId: 6, item: { text: 'hi', sentAt: new Date(whole.sentAt) } });
  });

  it('should read back from the log a message announced without all its fields', () => {
    const partial = { id: 7 } as WireMessage;
    expect(isInboxAnnouncement({ message: { message: partial, previousMessageId: 6 } })).toBe(true);
    expect(log.pick({ message: { message: partial, previousMessageId: 6 } })).toEqual({ id: 7, previousId: 6 });
  });

  it('should ignore payloads that are not announcements', () => {
    for (const payload of [null, 42, 'x', {}, { event: { id: '7', previousId: null } }, { message: { message: {} } }])
      expect(isInboxAnnouncement(payload)).toBe(false);
  });
});
