/** The relationships stream's contract: reading entries of any shape, and keeping each pair's last change. */
import { describe, expect, it } from 'vitest';
import {
  accountEvent,
  blockEvent,
  followEvent,
  latestPerPair,
  readRelationshipEvents,
  type Logger,
  type RelationshipEvent,
  type StreamEntry,
} from '../src/index.js';

/** A logger that remembers the ids of the entries it was told were skipped. */
function recordingLogger(): { logger: Logger; skipped: string[] } {
  const skipped: string[] = [];
  const logger = { warn: (fields: { entryId: string }) => skipped.push(fields.entryId) } as unknown as Logger;
  return { logger, skipped };
}

const entries = (events: RelationshipEvent[]): StreamEntry<RelationshipEvent>[] =>
  events.map((event, index) => ({ id: `0-${index + 1}`, event }));

describe('readRelationshipEvents', () => {
  it('should read each kind with numeric ids under its own names', () => {
    const { logger, skipped } = recordingLogger();
    const facts = readRelationshipEvents(
      entries([accountEvent(7), followEvent(7, 8, true), blockEvent(8, 7, false)]),
      logger,
    );
    expect(facts).toEqual([
      { kind: 'account', userId: 7 },
      { kind: 'follow', followerId: 7, followeeId: 8, active: true },
      { kind: 'block', blockerId: 8, blockedId: 7, active: false },
    ]);
    expect(skipped).toEqual([]);
  });

  it('should skip, with a warning naming the entry, what this version does not understand', () => {
    const { logger, skipped } = recordingLogger();
    const odd = [
      { kind: 'mute', userId: '7' },
      { kind: 'block', blockerId: 'nobody', blockedId: '7', active: true },
      { kind: 'follow', followerId: '7', followeeId: '8' },
      { kind: 'account', userId: '0' },
    ] as unknown as RelationshipEvent[];
    expect(readRelationshipEvents(entries([...odd, accountEvent(9)]), logger)).toEqual([
      { kind: 'account', userId: 9 },
    ]);
    expect(skipped).toEqual(['0-1', '0-2', '0-3', '0-4']);
  });
});

describe('latestPerPair', () => {
  it('should keep the last change of each pair, telling directions and kinds apart', () => {
    const { logger } = recordingLogger();
    const facts = readRelationshipEvents(
      entries([
        followEvent(1, 2, true),
        followEvent(2, 1, true),
        blockEvent(1, 2, true),
        followEvent(1, 2, false),
        blockEvent(1, 2, false),
      ]),
      logger,
    );
    expect(latestPerPair(facts.filter((fact) => fact.kind !== 'account'))).toEqual([
      { kind: 'follow', followerId: 1, followeeId: 2, active: false },
      { kind: 'follow', followerId: 2, followeeId: 1, active: true },
      { kind: 'block', blockerId: 1, blockedId: 2, active: false },
    ]);
  });
});
