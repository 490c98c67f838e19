// Unit tests of canMessage, the one rule behind the Message button and sendDirectMessage, on fake services.
import DataLoader from 'dataloader';
import { describe, expect, it } from 'vitest';
import { canMessage, refusalWithoutLookup, type CanMessageServices } from '../src/canMessage.js';
import type { BlocksWithViewer } from '../src/loaders.js';

const VIEWER = 1;

/** Fake services: `known` users exist, `blocks` lists [blocker, blocked] pairs; counts what canMessage asks. */
function services({ known = [] as number[], blocks = [] as [number, number][], catchUpFails = false } = {}) {
  const calls = { catchUp: 0, existing: 0, blockBatches: [] as number[][] };
  const has = (blocker: number, blocked: number) => blocks.some(([a, b]) => a === blocker && b === blocked);
  const fake: CanMessageServices = {
    relationships: {
      async catchUp() {
        calls.catchUp += 1;
        if (catchUpFails) throw new Error('the relationships stream cannot be read');
      },
    },
    knownUsers: {
      async existing(ids) {
        calls.existing += 1;
        return new Set(ids.filter((id) => known.includes(id)));
      },
    },
    loaders: {
      blocksWithViewer: new DataLoader<number, BlocksWithViewer>(async (ids) => {
        calls.blockBatches.push([...ids]);
        return ids.map((id) => ({ viewerBlocked: has(VIEWER, id), blockedViewer: has(id, VIEWER) }));
      }),
    },
  };
  return { fake, calls };
}

describe('canMessage', () => {
  it('should refuse an anonymous viewer and oneself without catching up or reading anything', async () => {
    const { fake, calls } = services({ known: [VIEWER, 2] });
    expect(await canMessage(fake, null, [2])).toEqual(new Map([[2, { allowed: false, reason: 'SIGN_IN_REQUIRED' }]]));
    expect(await canMessage(fake, VIEWER, [VIEWER])).toEqual(new Map([[VIEWER, { allowed: false, reason: 'SELF' }]]));
    expect(calls).toEqual({ catchUp: 0, existing: 0, blockBatches: [] });
    expect(refusalWithoutLookup(VIEWER, 2)).toBeNull();
  });

  it('should decide a whole page with one catch-up, one read of known users and one batch of blocks', async () => {
    const { fake, calls } = services({
      known: [2, 3, 4, 5],
      // 3 blocked the viewer; the viewer blocked 4; 5 and the viewer blocked each other.
      blocks: [
        [3, VIEWER],
        [VIEWER, 4],
        [VIEWER, 5],
        [5, VIEWER],
      ],
    });
    const answers = await canMessage(fake, VIEWER, [2, 3, 4, 5, 6, VIEWER, 2]);
    expect(Object.fromEntries(answers)).toEqual({
      2: { allowed: true },
      3: { allowed: false, reason: 'HIDDEN' },
      4: { allowed: false, reason: 'RECIPIENT_BLOCKED' },
      // Being blocked by them wins: they do not exist for the viewer.
      5: { allowed: false, reason: 'HIDDEN' },
      6: { allowed: false, reason: 'NO_SUCH_USER' },
      [VIEWER]: { allowed: false, reason: 'SELF' },
    });
    expect(calls).toEqual({ catchUp: 1, existing: 1, blockBatches: [[2, 3, 4, 5, 6]] });
  });

  it('should fail rather than decide on stale blocks when the projection cannot catch up', async () => {
    const { fake, calls } = services({ known: [2], catchUpFails: true });
    await expect(canMessage(fake, VIEWER, [2])).rejects.toThrow('cannot be read');
    expect(calls.blockBatches).toEqual([]);
  });
});
