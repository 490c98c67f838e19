/**
 * What the gateway serves to browsers besides GraphQL: HTML pages under a strict Content-Security-Policy, and the
 * static files they load (from npm packages and gateway/public), each at a URL that changes with its content.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { RouteHandler } from '@igt/common';

const require = createRequire(import.meta.url);
const gzipAsync = promisify(gzip);

/** Where static files are served: `/static/<content hash>/<name>`. */
const STATIC_PREFIX = '/static/';

/** Content types of the static files the gateway serves, by file extension. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * A file of an installed npm package, found the way Node finds the package, so the Docker image's production
 * node_modules serve it as a development checkout does. Through `package.json`, which every package exports, as
 * `exports` maps may hide the file itself (React's `umd/` files).
 */
export function packageFile(packageName: string, file: string): string {
  return join(dirname(require.resolve(`${packageName}/package.json`)), file);
}

/** A file of gateway/public, which sits beside both src/ (development) and dist/ (the image). */
export function publicFile(name: string): string {
  return fileURLToPath(new URL(`../public/${name}`, import.meta.url));
}

interface LoadedFile {
  url: string;
  type: string;
  body: Buffer;
  /** Compressed on first request, then kept. */
  gzipped?: Promise<Buffer>;
}

/** Files already read, by path: every gateway in the process shares them (tests start many). */
const loaded = new Map<string, LoadedFile>();

function load(name: string, path: string): LoadedFile {
  const key = `${name}\0${path}`;
  const known = loaded.get(key);
  if (known) return known;
  const type = CONTENT_TYPES[extname(name)];
  if (!type) throw new Error(`No content type for "${name}": expected one of ${Object.keys(CONTENT_TYPES).join(', ')}`);
  const body = readFileSync(path);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  const file: LoadedFile = { url: `${STATIC_PREFIX}${hash}/${name}`, type, body };
  loaded.set(key, file);
  return file;
}

/** True when the client takes gzip (`Accept-Encoding`), so the larger scripts travel a fifth of their size. */
const acceptsGzip = (req: IncomingMessage) => /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));

/** Answers 405 to anything but GET and HEAD; true when it did. */
function refusedMethod(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
  res.end('Only GET and HEAD are allowed here.\n');
  return true;
}

/** Static files a page loads, by the name it links them with: their URLs, and the routes that serve them. */
export interface StaticFiles {
  /** The URL path of the file given as `name`. */
  url(name: string): string;
  /** Routes for `router`: one per file; its URL changes with its content, so browsers keep it for a year. */
  routes: Record<string, RouteHandler>;
}

/** Serves `files` (name → path on disk; the name's extension picks the content type), read once per process. */
export function staticFiles(files: Readonly<Record<string, string>>): StaticFiles {
  const byName = new Map(Object.entries(files).map(([name, path]) => [name, load(name, path)]));
  const routes: Record<string, RouteHandler> = {};
  for (const file of byName.values()) {
    routes[file.url] = async (req, res) => {
      if (refusedMethod(req, res)) return;
      const gzipped = acceptsGzip(req);
      const body = gzipped ? await (file.gzipped ??= gzipAsync(file.body)) : file.body;
      res.writeHead(200, {
        'content-type': file.type,
        'content-length': body.length,
        'cache-control': 'public, max-age=31536000, immutable',
        vary: 'accept-encoding',
        'x-content-type-options': 'nosniff',
        ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
  }
  return {
    url(name) {
      const file = byName.get(name);
      if (!file) throw new Error(`No static file "${name}" (known: ${[...byName.keys()].join(', ')})`);
      return file.url;
    },
    routes,
  };
}

/** `value` as JSON to put inside `<script type="application/json">`: no `<` can end the element early. */
export const jsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * Serves one HTML page under `contentSecurityPolicy` (directive → sources). Never cached: the page names the
 * current static files' URLs.
 */
export function htmlPage(html: string, contentSecurityPolicy: Readonly<Record<string, string>>): RouteHandler {
  const body = Buffer.from(html);
  const csp = Object.entries(contentSecurityPolicy)
    .map(([directive, sources]) => `${directive} ${sources}`.trim())
    .join('; ');
  return (req, res) => {
    if (refusedMethod(req, res)) return;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-cache',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
