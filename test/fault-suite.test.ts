/**
 * The fault suite: every service as a process of its own (started from the built image) on PostgreSQL and a
 * redis-server of this file's own, while people send DMs at a steady pace and their recipients listen live on two
 * devices each. One after another, Instagram, Threads, Messaging and the gateway are killed (SIGKILL) and started
 * again, Redis is killed and started again, and PostgreSQL is cut off (a TCP proxy between the services and it drops
 * every connection) and let back. Senders retry a failed send with the same idempotency key until it succeeds;
 * devices follow the README's resume pattern. Afterwards every acknowledged message must be stored exactly once and
 * every device must have received each of its messages exactly once, in id order. Needs DATABASE_URL and REDIS_URL
 * (and redis-server on the PATH).
 */
import { randomBytes } from 'node:crypto';
import { createClient as createWsClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  hasRedisServer,
  scratchDatabase,
  startRedisServer,
  type RedisServer,
  type ScratchDatabase,
} from './support/scratch.js';
import { FOLLOW, SEND_DM, SIGN_UP } from './support/documents.js';
import { startFaultProxy, type FaultProxy } from './support/faultProxy.js';
import { buildImage } from './support/image.js';
import {
  describeOutput,
  isRunning,
  kill,
  query,
  ready,
  startService,
  START_TIMEOUT_MS,
  stop,
  type ServiceProcess,
} from './support/processes.js';

/** Building the image when it is not cached yet (two npm installs from the npm cache and a TypeScript build). */
const IMAGE_TIMEOUT_MS = 240_000;
/** The whole scenario, faults and settling included; on a quiet machine it takes well under a minute. */
const SCENARIO_TIMEOUT_MS = 180_000;
/** People sending, and people receiving (each on two devices). */
const SENDERS = 3;
const RECIPIENTS = 2;
const DEVICES_PER_RECIPIENT = 2;
/** Pause between one acknowledged send and a sender's next one: about 12 sends a second per sender. */
const SEND_PAUSE_MS = 80;
/** Pause before a failed send is tried again (same idempotency key). */
const RETRY_PAUSE_MS = 100;
/** How long a sender waits for the answer to one send before it counts it as failed and tries again. */
const SEND_TIMEOUT_MS = 10_000;
/** Pause before a device resubscribes after its subscription ended: the README's pattern, with a shorter pause. */
const RESUME_PAUSE_MS = 200;
/** A fault lasts at least this long, and until the senders or devices have felt it (at most FELT_TIMEOUT_MS). */
const MIN_OUTAGE_MS = 1_500;
const FELT_TIMEOUT_MS = 10_000;
/** How long everything has to be back to normal after a fault: every sender acknowledged, every device caught up. */
const RECOVERY_TIMEOUT_MS = 45_000;
/** The gateway's deadline for one subgraph fetch: short, so a fetch into a dead subgraph ends the event quickly. */
const SUBGRAPH_TIMEOUT_MS = 3_000;

/** Fields from all three subgraphs, so losing any of them touches the live stream. */
const DMS = `#graphql
  subscription Dms($after: ID) {
    directMessageReceived(after: $after) { id text sender { username threadsProfile { username } } }
  }`;

/** Someone signed up for the scenario. */
interface Person {
  id: string;
  username: string;
  token: string;
}

/** A send the gateway acknowledged. */
interface Acked {
  id: number;
  text: string;
  recipient: Person;
  at: number;
}

/** One recipient's device: a graphql-ws client that resubscribes with `after` = the last id it received. */
interface Device {
  name: string;
  recipient: Person;
  received: { id: number; text: string }[];
  /** Subscriptions started again after one ended. */
  resumes: number;
  client: Client;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why a subscription ended, from what graphql-ws hands `error`: GraphQL errors, an Error, or a socket event. */
function endReason(error: unknown): string {
  if (Array.isArray(error))
    return String((error[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code ?? 'GRAPHQL_ERROR');
  if (error instanceof Error) return `error: ${error.message.slice(0, 60)}`;
  const event = error as { type?: string; code?: number };
  return event.type === 'close' ? `close ${event.code}` : `socket ${event.type ?? 'error'}`;
}

describe.skipIf(!process.env.DATABASE_URL || !process.env.REDIS_URL || !hasRedisServer)(
  'the fault suite: services, Redis and PostgreSQL failing under live DMs',
  () => {
    const suffix = randomBytes(4).toString('hex');
    const services = new Map<string, ServiceProcess>();
    /** Services that exited without the test killing or stopping them: a crash, with its logs. */
    const crashes: string[] = [];
    /** Processes the test itself killed or stopped (their exit is expected). */
    const ended = new Set<ServiceProcess>();
    const devices: Device[] = [];
    let database: ScratchDatabase | undefined;
    let postgresProxy: FaultProxy | undefined;
    let redis: RedisServer | undefined;
    let redisPort: number;
    let gatewayPort: number;

    const killAll = () => services.forEach((service) => service.child.kill('SIGKILL'));

    /** Starts (or starts again) a service and records it if it ever exits on its own. */
    async function run(service: ServiceProcess): Promise<void> {
      services.set(service.name, service);
      void service.exited.then((code) => {
        if (!ended.has(service)) crashes.push(`${service.name} exited with ${code}\n${describeOutput(service)}`);
      });
      await ready(service);
    }

    async function killService(name: string): Promise<void> {
      const service = services.get(name)!;
      ended.add(service);
      await kill(service);
    }

    const restartService = (name: string) => run(services.get(name)!.respawn());

    beforeAll(async () => {
      process.once('exit', killAll);
      const image = await buildImage();
      database = await scratchDatabase(process.env.DATABASE_URL!, 'igt_faults');
      const postgres = new URL(database.url);
      postgresProxy = await startFaultProxy(`http://${postgres.hostname}:${postgres.port || '5432'}/`);
      const proxiedDatabaseUrl = new URL(database.url);
      proxiedDatabaseUrl.hostname = '127.0.0.1';
      proxiedDatabaseUrl.port = new URL(postgresProxy.url).port;
      redisPort = await freePort();
      redis = await startRedisServer(redisPort);

      const [instagramPort, threadsPort, messagingPort, port] = await Promise.all(Array.from({ length: 4 }, freePort));
      gatewayPort = port!;
      const shared = {
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        DATABASE_URL: proxiedDatabaseUrl.toString(),
        REDIS_URL: redis.url,
        REDIS_PREFIX: `igt-faults-${suffix}:`,
        JWT_SECRET: randomBytes(32).toString('base64url'),
        GATEWAY_SECRET: randomBytes(32).toString('base64url'),
        // The scenario signs up and sends from one address far faster than a person would.
        SIGN_UP_LIMIT_PER_ADDRESS: '1000/60',
        DM_LIMIT_PER_ACCOUNT: '100000/1',
        DM_LIMIT_PER_ADDRESS: '100000/1',
      };
      const url = (subgraphPort: number) => `http://127.0.0.1:${subgraphPort}/graphql`;
      await Promise.all([
        run(
          startService(image, 'instagram', 'subgraphs/instagram/dist/index.js', instagramPort!, {
            ...shared,
            INSTAGRAM_PORT: String(instagramPort),
          }),
        ),
        run(
          startService(image, 'threads', 'subgraphs/threads/dist/index.js', threadsPort!, {
            ...shared,
            THREADS_PORT: String(threadsPort),
          }),
        ),
        run(
          startService(image, 'messaging', 'subgraphs/messaging/dist/index.js', messagingPort!, {
            ...shared,
            MESSAGING_PORT: String(messagingPort),
          }),
        ),
        run(
          startService(image, 'gateway', 'gateway/dist/index.js', gatewayPort, {
            ...shared,
            GATEWAY_PORT: String(gatewayPort),
            INSTAGRAM_URL: url(instagramPort!),
            THREADS_URL: url(threadsPort!),
            MESSAGING_URL: url(messagingPort!),
            SUBGRAPH_TIMEOUT_MS: String(SUBGRAPH_TIMEOUT_MS),
            APOLLO_TELEMETRY_DISABLED: 'true',
            CORS_ORIGINS: '*',
            INTERNAL_PORT: '0',
          }),
        ),
      ]);
    }, IMAGE_TIMEOUT_MS + START_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.all(devices.map((device) => device.client.dispose()));
      await Promise.all(
        [...services.values()].map((service) => {
          ended.add(service);
          return stop(service);
        }),
      );
      process.off('exit', killAll);
      await redis?.kill();
      await postgresProxy?.close();
      await database?.drop();
    }, 60_000);

    async function signUp(role: string, index: number): Promise<Person> {
      const username = `f${suffix}${role}${index}`;
      const result = await query<{ signUp: { token: string; user: { id: string } } }>(gatewayPort, SIGN_UP, {
        username,
        password: 'fault-suite-password',
        fullName: `${role} ${index}`,
      });
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      return { id: result.data!.signUp.user.id, username, token: result.data!.signUp.token };
    }

    it(
      'should store every acknowledged DM once and deliver it once, in order, to every device through six faults',
      async () => {
        const started = Date.now();
        const senders = await Promise.all(Array.from({ length: SENDERS }, (_, index) => signUp('s', index)));
        const recipients = await Promise.all(Array.from({ length: RECIPIENTS }, (_, index) => signUp('r', index)));
        // Everyone follows everyone on the other side, so every message lands in PRIMARY.
        for (const sender of senders) {
          for (const recipient of recipients) {
            for (const [who, whom] of [
              [sender, recipient],
              [recipient, sender],
            ] as const) {
              const result = await query(gatewayPort, FOLLOW, { userId: whom.id }, who.token);
              expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
            }
          }
        }

        /** What failed, counted per phase of the scenario ('warm-up', then each fault from injection to recovery). */
        let phase = 'warm-up';
        const tally = new Map<string, Map<string, number>>();
        const count = (what: string) => {
          const counts = tally.get(phase) ?? tally.set(phase, new Map()).get(phase)!;
          counts.set(what, (counts.get(what) ?? 0) + 1);
        };

        // Devices first, subscribed from the start of their (empty) inboxes, so none can miss an early message.
        let listening = true;
        for (const recipient of recipients) {
          for (let index = 0; index < DEVICES_PER_RECIPIENT; index++) {
            const device: Device = {
              name: `${recipient.username}/device-${index}`,
              recipient,
              received: [],
              resumes: 0,
              client: createWsClient({
                url: `ws://127.0.0.1:${gatewayPort}/graphql`,
                webSocketImpl: WebSocket,
                retryAttempts: 0,
                connectionParams: { Authorization: `Bearer ${recipient.token}` },
              }),
            };
            const again = (reason: string) => {
              count(`subscription ended: ${reason}`);
              if (!listening) return;
              device.resumes += 1;
              setTimeout(listen, RESUME_PAUSE_MS);
            };
            const listen = () => {
              let reason = 'complete';
              device.client.subscribe<{ directMessageReceived: { id: string; text: string } }>(
                { query: DMS, variables: { after: String(device.received.at(-1)?.id ?? 0) } },
                {
                  next: ({ data, errors }) => {
                    // The gateway ends a subscription with a last result holding only the error that says why.
                    if (errors) reason = String(errors[0]?.extensions?.code ?? 'GRAPHQL_ERROR');
                    if (data)
                      device.received.push({
                        id: Number(data.directMessageReceived.id),
                        text: data.directMessageReceived.text,
                      });
                  },
                  error: (error) => again(endReason(error)),
                  complete: () => again(reason),
                },
              );
            };
            listen();
            devices.push(device);
          }
        }

        // Senders: one message after another, each retried with its idempotency key until the gateway acknowledges it.
        const acked: Acked[] = [];
        let sendRetries = 0;
        let sending = true;
        const sendLoop = async (sender: Person, senderIndex: number) => {
          for (let n = 1; sending; n++) {
            const recipient = recipients[(senderIndex + n) % recipients.length]!;
            const text = `${sender.username} #${n}`;
            const input = { recipientId: recipient.id, text, idempotencyKey: `${sender.username}-${n}` };
            for (;;) {
              const result = await query<{ sendDirectMessage: { message: { id: string; text: string } } }>(
                gatewayPort,
                SEND_DM,
                { input },
                sender.token,
                SEND_TIMEOUT_MS,
              ).catch((error: Error) => ({
                data: undefined,
                errors: [{ message: error.message, extensions: { code: `no answer (${error.message})` } }],
              }));
              const message = result.data?.sendDirectMessage?.message;
              if (message) {
                // The text stays the one sent: the check against the database shows the id really holds it.
                acked.push({ id: Number(message.id), text, recipient, at: Date.now() });
                break;
              }
              sendRetries += 1;
              count(`send failed: ${String(result.errors?.[0]?.extensions?.code ?? 'NO_CODE')}`);
              await pause(RETRY_PAUSE_MS);
            }
            await pause(SEND_PAUSE_MS);
          }
        };
        const sendLoops = senders.map(sendLoop);

        const state = () =>
          JSON.stringify({
            acked: acked.length,
            phase,
            failures: Object.fromEntries(tally.get(phase) ?? []),
            devices: devices.map((device) => ({
              name: device.name,
              received: device.received.length,
              resumes: device.resumes,
            })),
            running: [...services.values()].map(
              (service) => `${service.name}: ${isRunning(service) ? 'running' : 'exited'}`,
            ),
            crashes,
          });
        const waitFor = async (what: string, condition: () => boolean, timeoutMs: number) => {
          const deadline = Date.now() + timeoutMs;
          while (!condition()) {
            if (crashes.length) throw new Error(`a service crashed while waiting for ${what}:\n${crashes.join('\n')}`);
            if (Date.now() > deadline)
              throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}; ${state()}\n${[...services.values()].map(describeOutput).join('\n')}`,
              );
            await pause(25);
          }
        };
        /** Every sender has had a send acknowledged since `since`, and every device has everything acknowledged by then. */
        const caughtUp = async (what: string, since: number) => {
          await waitFor(
            `${what}: a send acknowledged for every sender`,
            () =>
              senders.every((sender) => acked.some((a) => a.at > since && a.text.startsWith(`${sender.username} `))),
            RECOVERY_TIMEOUT_MS,
          );
          const target = new Map(
            recipients.map((recipient) => [
              recipient,
              Math.max(0, ...acked.filter((a) => a.recipient === recipient).map((a) => a.id)),
            ]),
          );
          await waitFor(
            `${what}: every device caught up`,
            () => devices.every((device) => (device.received.at(-1)?.id ?? 0) >= target.get(device.recipient)!),
            RECOVERY_TIMEOUT_MS,
          );
        };
        const felt = () => sendRetries + devices.reduce((sum, device) => sum + device.resumes, 0);

        await caughtUp('warm-up', started);

        const faults: { name: string; inject: () => Promise<void>; recover: () => Promise<void> }[] = [
          ...['instagram', 'threads', 'messaging', 'gateway'].map((name) => ({
            name: `kill ${name}`,
            inject: () => killService(name),
            recover: () => restartService(name),
          })),
          {
            name: 'kill redis',
            inject: async () => {
              await redis!.kill();
              redis = undefined;
            },
            recover: async () => {
              redis = await startRedisServer(redisPort);
            },
          },
          {
            name: 'cut postgres',
            inject: async () => postgresProxy!.set('refuse'),
            recover: async () => postgresProxy!.set('pass'),
          },
        ];
        const report: { fault: string; outageMs: number; recoveryMs: number }[] = [];
        for (const fault of faults) {
          phase = fault.name;
          const before = felt();
          const injected = Date.now();
          await fault.inject();
          // Scenario shaping, not correctness: keep the fault long enough to hit in-flight work, then bring things back.
          await pause(MIN_OUTAGE_MS);
          await waitFor(`${fault.name} to be felt`, () => felt() > before, FELT_TIMEOUT_MS).catch(() => {});
          await fault.recover();
          const recovered = Date.now();
          await caughtUp(`recovery from ${fault.name}`, recovered);
          report.push({ fault: fault.name, outageMs: recovered - injected, recoveryMs: Date.now() - recovered });
        }

        // Settle: the senders finish their last message, then every device must hold everything.
        phase = 'settling';
        sending = false;
        let finished = false;
        void Promise.all(sendLoops).then(() => (finished = true));
        await waitFor('the senders to finish their last message', () => finished, RECOVERY_TIMEOUT_MS);
        const expectedFor = (recipient: Person) =>
          acked
            .filter((a) => a.recipient === recipient)
            .map(({ id, text }) => ({ id, text }))
            .sort((a, b) => a.id - b.id);
        await waitFor(
          'every device to receive every acknowledged message',
          () => devices.every((device) => device.received.length >= expectedFor(device.recipient).length),
          RECOVERY_TIMEOUT_MS,
        );
        listening = false;

        // Stored exactly once: the messages of these senders in the database are exactly the acknowledged ones.
        const sql = new pg.Client({ connectionString: database!.url });
        await sql.connect();
        const stored = await sql
          .query<{ id: string; text: string }>(
            'select id, text from messaging.messages where sender_id = any($1::bigint[]) order by id',
            [senders.map((sender) => sender.id)],
          )
          .finally(() => sql.end());
        const ackedInOrder = acked.map(({ id, text }) => ({ id, text })).sort((a, b) => a.id - b.id);
        expect(new Set(acked.map((a) => a.text)).size, 'one acknowledgement per message').toBe(acked.length);
        expect(stored.rows.map((row) => ({ id: Number(row.id), text: row.text }))).toEqual(ackedInOrder);

        // Delivered exactly once, in id order, none missing: each device's stream is exactly its recipient's messages.
        for (const device of devices) expect(device.received, device.name).toEqual(expectedFor(device.recipient));
        expect(crashes).toEqual([]);

        const resumes = devices.reduce((sum, device) => sum + device.resumes, 0);
        console.log(
          [
            `fault suite: ${acked.length} messages sent and stored once by ${SENDERS} senders to ${RECIPIENTS} recipients`,
            `  ${devices.length} devices each received all of theirs once, in order (${devices.map((device) => device.received.length).join(' + ')} deliveries)`,
            `  ${faults.length} faults injected, ${sendRetries} send retries, ${resumes} subscription resumes:`,
            ...['warm-up', ...faults.map((fault) => fault.name), 'settling'].map((name) => {
              const timing = report.find((r) => r.fault === name);
              const times = timing ? ` (down ${timing.outageMs} ms, all caught up ${timing.recoveryMs} ms later)` : '';
              return `    ${name}${times}: ${JSON.stringify(Object.fromEntries(tally.get(name) ?? []))}`;
            }),
            `  scenario took ${((Date.now() - started) / 1000).toFixed(1)} s`,
          ].join('\n'),
        );
      },
      SCENARIO_TIMEOUT_MS,
    );
  },
);
