// Services as child processes started from the built image, and the HTTP helpers tests use to call them.
import { spawn, type ChildProcess } from 'node:child_process';
import { DEMO_PASSWORD } from '@igt/common';
import { LOGIN } from './documents.js';
import type { Image } from './image.js';
import { ok, type GraphQLResponse } from './harness.js';

/** How long a service may take to answer /health/ready after it was started. */
export const START_TIMEOUT_MS = 90_000;
/** How long `stop` waits after SIGTERM before it sends SIGKILL. */
export const STOP_TIMEOUT_MS = 15_000;
/** How long `query` waits for an answer by default. */
const QUERY_TIMEOUT_MS = 30_000;
/** Lines of a service's output kept for error messages, and characters kept of each (stack traces run long). */
const OUTPUT_LINES = 40;
const OUTPUT_LINE_CHARS = 1_000;

/** One service running as a child process, with the tail of what it logged (shown when something goes wrong). */
export interface ServiceProcess {
  name: string;
  port: number;
  child: ChildProcess;
  output: string[];
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** Starts the same service again (same image, entry, port and environment) as a new process. */
  respawn(): ServiceProcess;
}

/** Runs `entry` (a service's compiled dist/index.js) with plain Node in the image's directory, with the image's ENV. */
export function startService(
  image: Image,
  name: string,
  entry: string,
  port: number,
  env: Record<string, string>,
): ServiceProcess {
  const child = spawn(process.execPath, [entry], {
    cwd: image.dir,
    env: { ...process.env, ...image.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(0, OUTPUT_LINE_CHARS)),
    );
    output.splice(0, Math.max(0, output.length - OUTPUT_LINES));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { name, port, child, output, exited, respawn: () => startService(image, name, entry, port, env) };
}

/** The service's name and the tail of its output, for error messages. */
export const describeOutput = (service: ServiceProcess) => `${service.name} logged:\n  ${service.output.join('\n  ')}`;

/** Whether the process is still running. */
export const isRunning = (service: ServiceProcess) =>
  service.child.exitCode === null && service.child.signalCode === null;

/** Resolves once the service answers 200 on /health/ready; fails early, with its logs, if it exits first. */
export async function ready(service: ServiceProcess, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void service.exited.then((code) => (exitedWith = code));
  for (;;) {
    if (exitedWith !== undefined)
      throw new Error(`${service.name} exited with ${exitedWith} before it was ready\n${describeOutput(service)}`);
    const status = await fetch(`http://127.0.0.1:${service.port}/health/ready`, { signal: AbortSignal.timeout(2_000) })
      .then((response) => response.status)
      .catch(() => 0);
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(
        `${service.name} was not ready after ${timeoutMs} ms (last status ${status})\n${describeOutput(service)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Sends SIGTERM and waits for the exit (SIGKILL after `STOP_TIMEOUT_MS`); resolves with the exit code or signal. */
export async function stop(service: ServiceProcess): Promise<number | string> {
  if (isRunning(service)) service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    return await service.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills the process at once (SIGKILL, as a crash or an OOM kill would) and waits until it is gone. */
export async function kill(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGKILL');
  await service.exited;
}

/** Sends a GraphQL request over HTTP to the gateway on `gatewayPort`; rejects when no answer comes within `timeoutMs`. */
export async function query<T = any>(
  gatewayPort: number,
  document: string,
  variables?: Record<string, unknown>,
  token?: string,
  timeoutMs = QUERY_TIMEOUT_MS,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`http://127.0.0.1:${gatewayPort}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: document, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

/** Signs a demo person in (password `demo-password`) through the gateway and returns their token. */
export async function login(gatewayPort: number, username: string): Promise<string> {
  const result = await query<{ login: { token: string } }>(gatewayPort, LOGIN, { username, password: DEMO_PASSWORD });
  return ok(result).login.token;
}
