/**
 * The embedded mode (`npm start`) stopped and started again on the same data folder: what was done before the stop
 * holds after it, including a block that reached Messaging and Threads only through the in-process stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectError, ok, startStack } from './support/harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'igt-restart-'));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a restart of the embedded stack', () => {
  // Two embedded stacks start one after the other, each migrating and seeding PGlite: slow on a busy machine.
  it(
    'should keep a block made just before a clean stop, in Messaging and Threads too',
    { timeout: 180_000 },
    async () => {
      const SEND =
        'mutation { sendDirectMessage(input: { recipientId: "1", text: "still there?" }) { message { id } } }';
      const first = await startStack({ dataDir });
      const [alice, carol] = [await first.login('alice'), await first.login('carol')];
      // Nothing reads the relationships stream between the block and the stop.
      ok(await first.query('mutation { block(userId: "3") { id } }', {}, { token: alice }));
      await first.close();

      const second = await startStack({ dataDir });
      try {
        expectError(await second.query(SEND, {}, { token: carol }), 'NOT_FOUND');
        expect(
          ok(await second.query('{ profile(username: "alice") { id } }', {}, { token: carol })).profile,
        ).toBeNull();
      } finally {
        await second.close();
      }
    },
  );
});
