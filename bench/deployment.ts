/**
 * What the bench runs against. Embedded (the default): the whole stack in this process, as `npm start` runs it, plus
 * a gateway of its own process in front of the same subgraphs for the fan-out scenario, whose memory must be the
 * gateway's alone. With DATABASE_URL and REDIS_URL: every service its own process (from source, with tsx), as a
 * deployment runs them, on a scratch database and a Redis prefix of the bench's own, `instances` times over.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deleteRedisKeys, freePort, scratchDatabase, type ScratchDatabase } from '../test/support/scratch.js';
import { ready, startService, stop, type ServiceProcess } from '../test/support/processes.js';
import type { Image } from '../test/support/image.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { MEMORY_PROBE_PREFIX } from './memoryProbe.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const GATEWAY_SECRET = 'bench-gateway-secret-0123456789-0123456789';
const JWT_SECRET = 'bench-jwt-secret-0123456789-0123456789-0123';
/** A limit no bench scenario reaches: the bench signs many people up and sends far faster than one person may. */
const LIFTED = 1_000_000;
const LIFTED_RATE = `${LIFTED}/1`;
/** How long a service may take to start: on a busy machine, many services starting together take minutes. */
const START_TIMEOUT_MS = 300_000;

/** One gateway and the subgraphs behind it. */
export interface Instance {
  gatewayUrl: string;
  subgraphUrls: { instagram: string; threads: string; messaging: string };
}

/** The gateway the fan-out scenario measures: its own process, so its memory and sockets are its alone. */
export interface GatewayProcess {
  url: string;
  /** Messaging's port, as the gateway's upstream connections name it. */
  messagingPort: number;
  /** The gateway's heap and RSS in bytes, after two full garbage collections. */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** TCP connections the gateway holds open to Messaging (HTTP and WebSocket alike). */
  connectionsToMessaging(): number;
}

/** A running deployment; `stop()` stops every service and removes the scratch database and Redis keys. */
export interface Deployment {
  description: string;
  gatewaySecret: string;
  instances: Instance[];
  fanOutGateway: GatewayProcess;
  /** Messaging's memory, when it runs as a process of its own (PostgreSQL + Redis). */
  messagingMemory?: () => Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

/** Services run from the checkout's sources: no build, so the bench measures exactly what is checked out. */
const SOURCE: Image = { dir: ROOT, env: {}, user: undefined, cmd: [] };
const PROBE = new URL('./memoryProbe.ts', import.meta.url).href;
const NODE_OPTIONS = `--import tsx --conditions=source --expose-gc --import ${PROBE}`;

/** Starts a service from its src/index.ts with the memory probe loaded. */
const service = (name: string, entry: string, port: number, env: Record<string, string>) =>
  startService(SOURCE, name, `${ROOT}${entry}`, port, { ...env, NODE_OPTIONS });

/** Asks a service's memory probe for its memory (see memoryProbe.ts) and waits for its answer on stdout. */
function probeMemory(process: ServiceProcess): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${process.name}: no memory report within 10 s`)), 10_000);
    const onData = (chunk: Buffer) => {
      const line = chunk
        .toString('utf8')
        .split('\n')
        .find((text) => text.startsWith(MEMORY_PROBE_PREFIX));
      if (!line) return;
      clearTimeout(timer);
      process.child.stdout!.off('data', onData);
      resolve(JSON.parse(line.slice(MEMORY_PROBE_PREFIX.length)) as NodeJS.MemoryUsage);
    };
    process.child.stdout!.on('data', onData);
    process.child.kill('SIGUSR2');
  });
}

/** Established TCP connections of process `pid` to `port` on this machine, from /proc (Linux). */
function establishedTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed between the listing and the look
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode) inodes.add(inode);
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // rem_address is "<address>:<port>" in hex; state 01 is ESTABLISHED; field 9 is the socket's inode.
      if (fields[2]?.endsWith(`:${portHex}`) && fields[3] === '01' && inodes.has(fields[9]!)) count++;
    }
  }
  return count;
}

/** A gateway process in front of the given subgraphs, with the WebSocket limits lifted for thousands of sockets. */
async function startGatewayProcess(name: string, subgraphUrls: Instance['subgraphUrls'], env: Record<string, string>) {
  const port = await freePort();
  return service(name, 'gateway/src/index.ts', port, {
    ...env,
    GATEWAY_PORT: String(port),
    INSTAGRAM_URL: subgraphUrls.instagram,
    THREADS_URL: subgraphUrls.threads,
    MESSAGING_URL: subgraphUrls.messaging,
    APOLLO_TELEMETRY_DISABLED: 'true',
    INTERNAL_PORT: '0',
    MAX_SOCKETS_PER_ADDRESS: String(LIFTED),
    MAX_SOCKETS_PER_ACCOUNT: String(LIFTED),
  });
}

const graphqlUrl = (port: number) => `http://127.0.0.1:${port}/graphql`;

function gatewayProcess(gateway: ServiceProcess, messagingUrl: string): GatewayProcess {
  const messagingPort = Number(new URL(messagingUrl).port);
  return {
    url: graphqlUrl(gateway.port),
    messagingPort,
    memory: () => probeMemory(gateway),
    connectionsToMessaging: () => establishedTo(gateway.child.pid!, messagingPort),
  };
}

/** Stops every process; a bench that dies must not leave services behind. */
function processGroup() {
  const processes: ServiceProcess[] = [];
  const killAll = () => processes.forEach((p) => p.child.kill('SIGKILL'));
  process.once('exit', killAll);
  return {
    processes,
    async stop() {
      await Promise.all(processes.map(stop));
      process.off('exit', killAll);
    },
  };
}

const common = { JWT_SECRET, GATEWAY_SECRET, LOG_LEVEL: 'warn', SEED_DEMO_DATA: 'true' };

/** The embedded default: the stack in this process, and a gateway process for the fan-out scenario. */
async function embedded(): Promise<Deployment> {
  const stack: Stack = await startStack({
    redisPrefix: 'igt-bench:',
    ports: { gateway: 0, instagram: 0, threads: 0, messaging: 0 },
    host: '127.0.0.1',
    jwtSecret: JWT_SECRET,
    gatewaySecret: GATEWAY_SECRET,
    jwtTtlSeconds: 3600,
    introspection: true,
    logLevel: 'warn',
    catchUpIntervalMs: 0,
    limits: {
      accounts: {
        signInPerAddress: { points: LIFTED, durationSeconds: 1 },
        signUpPerAddress: { points: LIFTED, durationSeconds: 1 },
      },
      sending: {
        perAccount: { points: LIFTED, durationSeconds: 1 },
        perAddress: { points: LIFTED, durationSeconds: 1 },
      },
    },
  });
  const group = processGroup();
  const gateway = await startGatewayProcess('gateway', stack.subgraphUrls, common);
  group.processes.push(gateway);
  await ready(gateway, START_TIMEOUT_MS);
  return {
    description: 'embedded PGlite, in-process pub/sub; the stack in one process (fan-out: gateway in its own)',
    gatewaySecret: GATEWAY_SECRET,
    instances: [{ gatewayUrl: stack.gatewayUrl, subgraphUrls: stack.subgraphUrls }],
    fanOutGateway: gatewayProcess(gateway, stack.subgraphUrls.messaging),
    async stop() {
      await group.stop();
      await stack.stop();
    },
  };
}

/** Every service its own process on PostgreSQL and Redis, `count` instances of each sharing both. */
async function separateProcesses(databaseUrl: string, redisUrl: string, count: number): Promise<Deployment> {
  const database: ScratchDatabase = await scratchDatabase(databaseUrl, 'igt_bench');
  const redisPrefix = `igt-bench-${process.pid}:`;
  const group = processGroup();
  const shared = {
    ...common,
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: redisPrefix,
    SIGN_IN_LIMIT_PER_ADDRESS: LIFTED_RATE,
    SIGN_UP_LIMIT_PER_ADDRESS: LIFTED_RATE,
    DM_LIMIT_PER_ACCOUNT: LIFTED_RATE,
    DM_LIMIT_PER_ADDRESS: LIFTED_RATE,
  };
  /** Starts instance `i`: its subgraphs, then (it reads their schemas at start-up) its gateway. */
  const startInstance = async (i: number) => {
    const [instagram, threads, messaging] = [await freePort(), await freePort(), await freePort()];
    const subgraphUrls = {
      instagram: graphqlUrl(instagram),
      threads: graphqlUrl(threads),
      messaging: graphqlUrl(messaging),
    };
    const subgraphs = [
      service(`instagram-${i}`, 'subgraphs/instagram/src/index.ts', instagram, {
        ...shared,
        INSTAGRAM_PORT: String(instagram),
      }),
      service(`threads-${i}`, 'subgraphs/threads/src/index.ts', threads, { ...shared, THREADS_PORT: String(threads) }),
      service(`messaging-${i}`, 'subgraphs/messaging/src/index.ts', messaging, {
        ...shared,
        MESSAGING_PORT: String(messaging),
      }),
    ];
    group.processes.push(...subgraphs);
    await Promise.all(subgraphs.map((subgraph) => ready(subgraph, START_TIMEOUT_MS)));
    const gateway = await startGatewayProcess(`gateway-${i}`, subgraphUrls, shared);
    group.processes.push(gateway);
    await ready(gateway, START_TIMEOUT_MS);
    return { gateway, messaging: subgraphs[2]!, instance: { gatewayUrl: graphqlUrl(gateway.port), subgraphUrls } };
  };
  let started: Awaited<ReturnType<typeof startInstance>>[];
  try {
    // All at once, as an orchestrator would: migrations and demo data cope with instances starting together.
    started = await Promise.all(Array.from({ length: count }, (_, i) => startInstance(i + 1)));
  } catch (error) {
    await group.stop();
    await database.drop();
    throw error;
  }
  return {
    description: `PostgreSQL, Redis; every service its own process, ${count} instance${count > 1 ? 's' : ''} of each`,
    gatewaySecret: GATEWAY_SECRET,
    instances: started.map(({ instance }) => instance),
    fanOutGateway: gatewayProcess(started[0]!.gateway, started[0]!.instance.subgraphUrls.messaging),
    messagingMemory: () => probeMemory(started[0]!.messaging),
    async stop() {
      await group.stop();
      await database.drop();
      await deleteRedisKeys(redisUrl, redisPrefix);
    },
  };
}

/** Starts what the environment asks for: PostgreSQL + Redis when both URLs are set, the embedded default otherwise. */
export async function startDeployment(
  env: { databaseUrl: string | undefined; redisUrl: string | undefined },
  instances: number,
): Promise<Deployment> {
  if (env.databaseUrl && env.redisUrl) return separateProcesses(env.databaseUrl, env.redisUrl, instances);
  if (env.databaseUrl || env.redisUrl) throw new Error('set both DATABASE_URL and REDIS_URL, or neither');
  return embedded();
}
