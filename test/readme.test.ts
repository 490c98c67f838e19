/**
 * The README's client programs run as written, on the Node that runs the suite: each is started as its own process
 * against a test stack (only the gateway's address and the token filled in) and must print a DM sent afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutualPair, sendDm } from './support/dms.js';
import { eventually, startStack, type TestStack } from './support/harness.js';
import { metricsOf, sample } from './support/metrics.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the programs are written: inside the checkout, so that they import the packages it installed. */
const PROGRAMS_DIR = fileURLToPath(new URL('../node_modules/.cache/readme-programs/', import.meta.url));
/** Starting a program takes a few seconds on a busy machine (tsx compiles it, Apollo Client loads). */
const PROGRAM_TIMEOUT_MS = 60_000;

/** The README's TypeScript programs a client developer copies: every `ts` block that uses a token from `login`. */
const programs = [...readFileSync(new URL('../README.md', import.meta.url), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((match) => match[1]!)
  .filter((code) => code.includes("'<token from login>'"));

let stack: TestStack;

/** Resolves once the gateway runs exactly `count` client subscriptions, on any transport. */
const subscriptionsAtGateway = (count: number) =>
  eventually(
    async () => sample(await metricsOf(stack.gatewayInternalUrl!), 'graphql_subscriptions_active', {}) === count,
    PROGRAM_TIMEOUT_MS,
  );

beforeAll(async () => {
  stack = await startStack();
  mkdirSync(PROGRAMS_DIR, { recursive: true });
});

afterAll(async () => {
  await stack?.close();
});

describe("the README's client programs", () => {
  it('should be the four that subscribe: Apollo Client over WebSocket, resuming graphql-ws, HttpLink, graphql-sse', () => {
    expect(programs.map((code) => code.match(/from '([^']+)'/)?.[1])).toEqual([
      '@apollo/client',
      'graphql-ws',
      '@apollo/client',
      'graphql-sse',
    ]);
  });

  it.each(programs.map((code, index) => [index, code] as const))(
    'should run program %i as written and print a DM sent to its viewer',
    async (index, code) => {
      const [sender, viewer] = await mutualPair(stack);
      const origin = new URL(stack.gatewayUrl).host;
      const file = `${PROGRAMS_DIR}program-${index}.ts`;
      writeFileSync(
        file,
        code
          .replaceAll("'<token from login>'", JSON.stringify(viewer.token))
          .replaceAll('http://localhost:4000', `http://${origin}`)
          .replaceAll('ws://localhost:4000', `ws://${origin}`),
      );
      // Earlier programs' subscriptions are gone before this one starts, so the counts below are this program's.
      await subscriptionsAtGateway(0);
      await stack.liveSubscriptions(0);
      const program = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT });
      let output = '';
      program.stdout.on('data', (chunk: Buffer) => (output += chunk));
      program.stderr.on('data', (chunk: Buffer) => (output += chunk));
      const exited = new Promise((resolve) => program.once('exit', resolve));
      try {
        await subscriptionsAtGateway(1).catch((error: unknown) => {
          throw new Error(`The program did not subscribe. It printed:\n${output}`, { cause: error });
        });
        // Live at Messaging too: a DM sent before that would be in the past for a subscription without `after`.
        await stack.liveSubscriptions(1);
        const text = `README program ${index} says hello`;
        await sendDm(stack, sender, viewer.id, text);
        await eventually(() => output.includes(text), PROGRAM_TIMEOUT_MS).catch((error: unknown) => {
          throw new Error(`The program did not print the DM. It printed:\n${output}`, { cause: error });
        });
      } finally {
        program.kill();
        await exited;
      }
    },
    PROGRAM_TIMEOUT_MS * 3,
  );
});
