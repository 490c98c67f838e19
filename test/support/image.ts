/**
 * Builds the Dockerfile's image as a directory, without a Docker engine: the build context is what .dockerignore
 * lets through, and each stage runs its WORKDIR/ENV/COPY/RUN instructions in a directory of its own (RUN through the
 * host's shell and Node instead of the base image's). What the last stage holds is what the image would hold, so a
 * service started from it proves the image has every file and production dependency the service needs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import dockerignoreModule from '@balena/dockerignore';
import { DockerfileParser, type Copy } from 'dockerfile-ast';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
// CommonJS (`module.exports = factory`) typed as an ES default export: under NodeNext the default import is the factory.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

/** What `buildImage` built: the final stage's files, plus the ENV, USER and CMD a container would run them with. */
export interface Image {
  /** The final stage's WORKDIR, as a directory on this machine. */
  dir: string;
  /** ENV of the final stage. */
  env: Record<string, string>;
  /** The final stage's USER (not switched to here). */
  user: string | undefined;
  /** CMD, exec form. */
  cmd: string[];
}

interface Stage {
  name: string | undefined;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  cmd: string[];
}

/**
 * Copies the files .dockerignore lets through into a fresh directory, the build context, and returns a hash of what
 * it copied (paths and contents), which names the context for the image cache.
 */
function buildContext(into: string): string {
  const ignore = dockerignore({ ignorecase: false }).add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    // Sorted, so the hash does not depend on the order the file system lists a directory in.
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(ROOT, path).split('\\').join('/');
      // Never part of a context (.dockerignore leaves them out too); skipped rather than walked for speed.
      if (name === '.git' || name === 'node_modules') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (!ignore.ignores(rel)) {
        const target = join(into, rel);
        cpSync(path, target);
        hash.update(`${rel}\0`).update(readFileSync(target)).update('\0');
      }
    }
  };
  walk(ROOT);
  return hash.digest('hex');
}

/** `${NAME}` and `$NAME` from build args and the stage's ENV. */
const expand = (text: string, vars: Record<string, string>) =>
  text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => vars[(braced ?? bare)!] ?? whole,
  );

/** Where `buildImage` keeps images between runs, one directory per build-context hash. */
const CACHE_DIR = join(tmpdir(), 'igt-image-cache');
/** A cached image nobody used for this long is deleted when another one is stored. */
const CACHE_KEEP_MS = 60 * 60_000;
/** A build lock this old was left by a build that died. */
const STALE_LOCK_MS = 10 * 60_000;

/** What a cache entry stores next to the image's directory (`app/`). */
type CachedMetadata = Pick<Image, 'env' | 'user' | 'cmd'>;

/** The image stored under `entry`, if one is (marking it used now), or undefined. */
function readCached(entry: string): Image | undefined {
  if (!existsSync(join(entry, 'image.json'))) return undefined;
  const now = new Date();
  utimesSync(entry, now, now);
  const metadata = JSON.parse(readFileSync(join(entry, 'image.json'), 'utf8')) as CachedMetadata;
  return { ...metadata, dir: join(entry, 'app') };
}

/** Deletes cache entries (and leftovers of builds that died) nobody used within CACHE_KEEP_MS, except `keep`. */
function pruneCache(keep: string): void {
  for (const name of readdirSync(CACHE_DIR)) {
    const path = join(CACHE_DIR, name);
    if (path === keep || name.endsWith('.lock')) continue;
    // Another test file may remove its own build directory between the listing and this look.
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats && Date.now() - stats.mtimeMs > CACHE_KEEP_MS) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Runs the Dockerfile at the repository root and returns its final stage. npm in RUN steps uses a copy of this
 * machine's npm cache, preferring it to the registry (a step may clean its cache, as image builds do).
 *
 * Images are kept between runs under the OS temp directory, keyed by the Dockerfile, the build context and the Node
 * version: test files that run at the same time, or again on unchanged sources, build it once (the others wait for
 * that build). The cache deletes an image nobody used for an hour when it stores another.
 */
export async function buildImage(): Promise<Image> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = mkdtempSync(join(CACHE_DIR, 'build-'));
  try {
    const context = join(work, 'context');
    const key = createHash('sha256')
      .update(`${process.version}\0${readFileSync(join(ROOT, 'Dockerfile'), 'utf8')}\0${buildContext(context)}`)
      .digest('hex')
      .slice(0, 32);
    const entry = join(CACHE_DIR, key);
    const lock = `${entry}.lock`;
    for (;;) {
      const cached = readCached(entry);
      if (cached) return cached;
      try {
        mkdirSync(lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const lockedAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
        if (lockedAt !== undefined && Date.now() - lockedAt > STALE_LOCK_MS)
          rmSync(lock, { recursive: true, force: true });
        else await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    try {
      // Another process may have stored it between the look above and taking the lock.
      const cached = readCached(entry);
      if (cached) return cached;
      const built = await runDockerfile(work, context);
      const metadata: CachedMetadata = { env: built.env, user: built.user, cmd: built.cmd };
      const staged = join(work, 'entry');
      mkdirSync(staged);
      renameSync(built.dir, join(staged, 'app'));
      writeFileSync(join(staged, 'image.json'), JSON.stringify(metadata));
      renameSync(staged, entry);
      pruneCache(entry);
      return readCached(entry)!;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function runDockerfile(work: string, context: string): Promise<Image> {
  const npmCache = join(work, 'npm-cache');
  const hostCache = (await run('npm', ['config', 'get', 'cache'])).stdout.trim();
  await cp(hostCache, npmCache, { recursive: true });

  const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  const at = (s: Stage, path: string) => join(s.root, posix.isAbsolute(path) ? path : posix.join(s.workdir, path));

  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const content = expand(instruction.getArgumentsContent() ?? '', { ...args, ...stage?.env });
    const words = content.split(/\s+/).filter(Boolean);
    if (keyword === 'ARG') {
      const [name, value = ''] = content.split('=', 2);
      if (!stage) args[name!.trim()] = value.trim();
      continue;
    }
    if (keyword === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(content)?.[1];
      stage = { name, root: join(work, `stage-${stages.length}`), workdir: '/', env: {}, user: undefined, cmd: [] };
      mkdirSync(stage.root, { recursive: true });
      stages.push(stage);
      continue;
    }
    if (!stage) throw new Error(`Dockerfile: ${keyword} before FROM`);
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, content.trim());
        mkdirSync(at(stage, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const [, name, value] of content.matchAll(/(\w+)=("[^"]*"|\S+)/g))
          stage.env[name!] = value!.replace(/^"|"$/g, '');
        break;
      case 'USER':
        stage.user = content.trim();
        break;
      case 'CMD':
        stage.cmd = JSON.parse(content) as string[];
        break;
      case 'COPY': {
        const from = (instruction as Copy).getFromFlag()?.getValue();
        const source = from === undefined ? undefined : stages.find((s) => s.name === from);
        if (from !== undefined && !source) throw new Error(`Dockerfile: COPY --from=${from}: no such stage`);
        const paths = words.filter((word) => !word.startsWith('--'));
        const dest = paths.pop()!;
        for (const path of paths) {
          const src = source ? join(source.root, path) : join(context, path);
          const target = dest.endsWith('/')
            ? join(at(stage, dest), statSync(src).isDirectory() ? '' : posix.basename(path))
            : at(stage, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(src, target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        await run('sh', ['-c', content], {
          cwd: at(stage, '.'),
          env: { ...process.env, ...stage.env, npm_config_cache: npmCache, npm_config_prefer_offline: 'true' },
          maxBuffer: 64 * 1024 * 1024,
        });
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`Dockerfile: ${keyword} is not supported by this test's builder`);
    }
  }
  const last = stages.at(-1)!;
  return { dir: at(last, '.'), env: last.env, user: last.user, cmd: last.cmd };
}
