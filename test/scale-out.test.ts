/**
 * Scale-out: every service as a process of its own, as a deployment runs them, with Messaging and the gateway twice,
 * each started with plain Node from the image the Dockerfile builds (built here as a directory, see image.ts).
 * Gateway A talks to Messaging 1 only and gateway B to Messaging 2 only; all share one PostgreSQL database and one
 * Redis. A DM sent through A must reach a subscriber on B: stored by Messaging 1, announced over Redis, delivered by
 * Messaging 2. Needs DATABASE_URL and REDIS_URL (the processes refuse to run on their own without them).
 */
import { randomBytes } from 'node:crypto';
import { createClient as createWsClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisKeys, freePort, scratchDatabase, type ScratchDatabase } from './support/scratch.js';
import { buildImage, type Image } from './support/image.js';
import { eventually, ok, subscribe, type Subscription } from './support/harness.js';
import {
  describeOutput,
  login,
  query,
  ready,
  startService,
  START_TIMEOUT_MS,
  stop,
  STOP_TIMEOUT_MS,
  type ServiceProcess,
} from './support/processes.js';

/** Building the image (two npm installs from the npm cache and a TypeScript build). */
const IMAGE_TIMEOUT_MS = 240_000;

const SEND = `#graphql
  mutation Send($text: String!) { sendDirectMessage(input: { recipientId: "2", text: $text }) { message { id text } } }`;

const NEW_MESSAGES = `#graphql
  subscription NewMessages { directMessageReceived { id text sender { username } } }`;

interface Received {
  directMessageReceived: { id: string; text: string; sender: { username: string } };
}

describe.skipIf(!process.env.DATABASE_URL || !process.env.REDIS_URL)(
  'scale-out: services as separate processes',
  () => {
    const baseDatabaseUrl = process.env.DATABASE_URL!;
    const redisUrl = process.env.REDIS_URL!;
    const suffix = randomBytes(5).toString('hex');
    const redisPrefix = `igt-scale-${suffix}:`;
    const services: ServiceProcess[] = [];
    const clients: Client[] = [];
    let gatewayA: ServiceProcess;
    let gatewayB: ServiceProcess;
    let database: ScratchDatabase | undefined;
    let image: Image | undefined;

    // A vitest worker that dies must not leave services behind.
    const killAll = () => services.forEach((service) => service.child.kill('SIGKILL'));

    beforeAll(async () => {
      process.once('exit', killAll);
      image = await buildImage();
      expect(image.env.NODE_ENV).toBe('production');
      database = await scratchDatabase(baseDatabaseUrl, 'igt_scale');
      const shared = {
        // The demo people are the test's cast; production leaves them out unless asked.
        SEED_DEMO_DATA: 'true',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: redisPrefix,
        JWT_SECRET: randomBytes(32).toString('base64url'),
        GATEWAY_SECRET: randomBytes(32).toString('base64url'),
      };
      const [instagramPort, threadsPort, messaging1Port, messaging2Port, gatewayAPort, gatewayBPort] =
        await Promise.all(Array.from({ length: 6 }, freePort));
      const url = (port: number) => `http://127.0.0.1:${port}/graphql`;
      const gatewayEnv = (port: number, messagingPort: number) => ({
        ...shared,
        GATEWAY_PORT: String(port),
        INSTAGRAM_URL: url(instagramPort!),
        THREADS_URL: url(threadsPort!),
        MESSAGING_URL: url(messagingPort),
        // No usage reports to Apollo and no cloud metadata probes from a test.
        APOLLO_TELEMETRY_DISABLED: 'true',
        // Production has no default for it; the test calls from Node, not a browser, so any valid value does.
        CORS_ORIGINS: '*',
        // Two gateways on one machine: each lets the OS pick its metrics port.
        INTERNAL_PORT: '0',
      });
      // All at once, as an orchestrator would: migrations and demo data must cope with instances starting together.
      services.push(
        startService(image, 'instagram', 'subgraphs/instagram/dist/index.js', instagramPort!, {
          ...shared,
          INSTAGRAM_PORT: String(instagramPort),
        }),
        startService(image, 'threads', 'subgraphs/threads/dist/index.js', threadsPort!, {
          ...shared,
          THREADS_PORT: String(threadsPort),
        }),
        startService(image, 'messaging-1', 'subgraphs/messaging/dist/index.js', messaging1Port!, {
          ...shared,
          MESSAGING_PORT: String(messaging1Port),
        }),
        startService(image, 'messaging-2', 'subgraphs/messaging/dist/index.js', messaging2Port!, {
          ...shared,
          MESSAGING_PORT: String(messaging2Port),
        }),
        (gatewayA = startService(
          image,
          'gateway-A',
          'gateway/dist/index.js',
          gatewayAPort!,
          gatewayEnv(gatewayAPort!, messaging1Port!),
        )),
        (gatewayB = startService(
          image,
          'gateway-B',
          'gateway/dist/index.js',
          gatewayBPort!,
          // With the explorer, which production leaves off: its files must be in the image too.
          { ...gatewayEnv(gatewayBPort!, messaging2Port!), INTROSPECTION: 'true' },
        )),
      );
      await Promise.all(services.map((service) => ready(service)));
    }, IMAGE_TIMEOUT_MS + START_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.all(clients.map((client) => client.dispose()));
      await Promise.all(services.map(stop));
      process.off('exit', killAll);
      await deleteRedisKeys(redisUrl, redisPrefix);
      await database?.drop();
    }, 60_000);

    it('should deliver a DM sent through gateway A live to a subscriber on gateway B', async () => {
      const alice = await login(gatewayA.port, 'alice');
      const bob = await login(gatewayB.port, 'bob');
      const client = createWsClient({
        url: `ws://127.0.0.1:${gatewayB.port}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { Authorization: `Bearer ${bob}` },
      });
      clients.push(client);
      const subscription: Subscription<Received> = subscribe<Received>(client, NEW_MESSAGES);

      // From outside, nothing tells when gateway B's upstream subscription on Messaging 2 is in place: send warm-up
      // messages until one arrives, so the message under test is sent to a subscription known to be live.
      for (let attempt = 1; subscription.events.length === 0; attempt += 1) {
        expect(subscription.errors).toEqual([]);
        if (attempt > 40) throw new Error('no warm-up message reached gateway B in 20 s');
        ok(await query(gatewayA.port, SEND, { text: `warm-up ${attempt}` }, alice));
        await eventually(() => subscription.events.length > 0, 500).catch(() => {});
      }
      const warmUps = subscription.events.length;

      const sent = ok(await query(gatewayA.port, SEND, { text: 'Hello from gateway A' }, alice)).sendDirectMessage
        .message;
      await eventually(() => subscription.events.some((event) => event.directMessageReceived.id === sent.id), 10_000);

      const received = subscription.events.map((event) => event.directMessageReceived);
      expect(received.filter((message) => message.id === sent.id)).toEqual([
        { id: sent.id, text: 'Hello from gateway A', sender: { username: 'alice' } },
      ]);
      expect(new Set(received.map((message) => message.id)).size, 'no message delivered twice').toBe(received.length);
      expect(received.slice(0, warmUps).every((message) => message.text.startsWith('warm-up '))).toBe(true);
      expect(subscription.errors).toEqual([]);
    }, 60_000);

    it('should see one shared database from both gateways', async () => {
      const bob = await login(gatewayA.port, 'bob');
      const inbox = `#graphql
      { inbox(folder: PRIMARY) { edges { node { id participants { username } } } } }`;
      const [throughA, throughB] = await Promise.all([
        query(gatewayA.port, inbox, {}, bob),
        query(gatewayB.port, inbox, {}, bob),
      ]);
      expect(ok(throughB)).toEqual(ok(throughA));
      // Demo data is loaded once even though two Messaging instances started on the empty database together: one
      // conversation with alice, and one demo group.
      const people = ok(throughA).inbox.edges.map(({ node }: { node: { participants: { username: string }[] } }) =>
        node.participants
          .map((person) => person.username)
          .sort()
          .join(),
      );
      expect(people.filter((names: string) => names === 'alice,bob')).toHaveLength(1);
      expect(people.filter((names: string) => names === 'alice,bob,carol')).toHaveLength(1);
    });

    it('should serve the explorer and every file it loads from the image, when introspection is on', async () => {
      const base = `http://127.0.0.1:${gatewayB.port}`;
      const page = await fetch(`${base}/explorer`);
      expect(page.status).toBe(200);
      const urls = [...(await page.text()).matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((match) => match[1]!);
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect((await fetch(`${base}${url}`)).status, url).toBe(200);
      // Production leaves it off.
      expect((await fetch(`http://127.0.0.1:${gatewayA.port}/explorer`)).status).toBe(404);
    });

    it(
      'should shut every process down gracefully on SIGTERM',
      async () => {
        await Promise.all(clients.splice(0).map((client) => client.dispose()));
        // Gateways first, as a rolling deploy would drain them, then the subgraphs.
        const gateways = [gatewayA, gatewayB];
        const gatewayCodes = await Promise.all(gateways.map(stop));
        const subgraphCodes = await Promise.all(services.filter((service) => !gateways.includes(service)).map(stop));
        const codes = Object.fromEntries(
          [...gateways, ...services.filter((service) => !gateways.includes(service))].map((service, index) => [
            service.name,
            [...gatewayCodes, ...subgraphCodes][index],
          ]),
        );
        expect(codes, services.map(describeOutput).join('\n')).toEqual(
          Object.fromEntries(services.map((service) => [service.name, 0])),
        );
      },
      STOP_TIMEOUT_MS + 10_000,
    );
  },
);
