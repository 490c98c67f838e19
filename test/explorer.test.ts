/**
 * The explorer at /explorer (GraphiQL served by the gateway from npm packages) and the landing page that links it:
 * what each answers over HTTP, and, in a real browser (Debian's Chromium, driven by playwright-core), a query with the
 * Authorization header and a live DM subscription.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendDm } from './support/dms.js';
import { startExtraGateway, startStack, type TestStack } from './support/harness.js';

/** Debian's Chromium; .ci/run installs it when it can. */
const CHROMIUM = '/usr/bin/chromium';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

/** Fetches `path` from the gateway at `base` (the stack's unless given). */
const get = (path: string, headers: Record<string, string> = {}, base = stack.gatewayUrl) =>
  fetch(new URL(path, base), { headers });

/** The URLs of the scripts and stylesheets an HTML page loads. */
const assetUrls = (html: string) => [...html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((match) => match[1]!);

describe('explorer over HTTP', () => {
  it('should serve the explorer page under a Content-Security-Policy that allows no inline script', async () => {
    const response = await get('/explorer', { accept: 'text/html' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    const html = await response.text();
    // Its only inline <script> is data (JSON), which a browser does not run.
    expect([...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)].map((match) => match[1]!.trim())).toEqual([
      'type="application/json" id="explorer-config"',
    ]);
    expect(html).toContain('query Profile');
    const post = await fetch(new URL('/explorer', stack.gatewayUrl), { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('should serve every asset the explorer and the landing page load, with its content type, for a year', async () => {
    const pages = await Promise.all(
      ['/explorer', '/'].map(async (path) => (await get(path, { accept: 'text/html' })).text()),
    );
    const urls = [...new Set(pages.flatMap(assetUrls))];
    expect(urls.map((url) => url.split('/').pop()).sort()).toEqual([
      'explorer.css',
      'explorer.js',
      'graphiql.min.css',
      'graphiql.min.js',
      'landing.css',
      'landing.js',
      'react-dom.production.min.js',
      'react.production.min.js',
    ]);
    for (const url of urls) {
      const response = await get(url);
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type'), url).toBe(
        url.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
      );
      expect(response.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
      expect((await response.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
    }
    const graphiql = urls.find((url) => url.endsWith('/graphiql.min.js'))!;
    const compressed = await get(graphiql, { 'accept-encoding': 'gzip' });
    expect(compressed.headers.get('content-encoding')).toBe('gzip');
    expect(await compressed.text()).toContain('window.GraphiQL');
  });

  it('should link the explorer from the landing page, which embeds Apollo Sandbox for browsers only', async () => {
    const page = await get('/', { accept: 'text/html' });
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self' https://embeddable-sandbox");
    const html = await page.text();
    expect(html).toContain('href="/explorer"');
    expect(html).toMatch(/cannot reach Apollo's CDN/);
    // A client that asks for JSON still gets GraphQL on /.
    const api = await fetch(new URL('/', stack.gatewayUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html, application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await api.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('should serve neither the explorer nor its assets when introspection is off', async () => {
    const urls = assetUrls(await (await get('/explorer', { accept: 'text/html' })).text());
    const gateway = await startExtraGateway(stack, { introspection: false });
    try {
      expect((await get('/explorer', { accept: 'text/html' }, gateway.url)).status).toBe(404);
      for (const url of urls) expect((await get(url, {}, gateway.url)).status, url).toBe(404);
      const landing = await get('/', { accept: 'text/html' }, gateway.url);
      expect(await landing.text()).not.toMatch(/explorer|sandbox/i);
    } finally {
      await gateway.stop();
    }
  });
});

const noChromium = !existsSync(CHROMIUM);
if (noChromium)
  console.warn(`Skipping the explorer's browser tests: ${CHROMIUM} is missing (apt-get install chromium).`);

// A page in a browser on a busy machine takes seconds; the timeouts leave room for it, nothing is timed.
describe.skipIf(noChromium)('explorer in Chromium', { timeout: 120_000 }, () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** Opens the explorer in a page of its own with `authorization` in the Headers tab. */
  async function openExplorer(authorization: string): Promise<{ page: Page; problems: string[] }> {
    const { page, problems } = await newPage();
    await page.goto(new URL('/explorer', stack.gatewayUrl).href);
    await page.locator('.graphiql-execute-button').waitFor();
    await setEditor(page, 'headers', JSON.stringify({ Authorization: authorization }));
    return { page, problems };
  }

  /** A page in a browser context of its own (a tab with its own storage), recording what went wrong in it. */
  async function newPage(): Promise<{ page: Page; problems: string[] }> {
    const page = await (await browser.newContext()).newPage();
    // Generous for a busy machine: each wait ends as soon as its condition holds.
    page.setDefaultTimeout(60_000);
    const problems: string[] = [];
    // The page reports what its Content-Security-Policy blocked as console errors.
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (event) =>
        console.error(`Content-Security-Policy blocked ${event.blockedURI} (${event.violatedDirective})`),
      ),
    );
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    return { page, problems };
  }

  /** GraphiQL's editors (CodeMirror 5, which hangs its API on its element), by what they hold. */
  const EDITORS = {
    query: '.graphiql-query-editor .CodeMirror',
    // The variables editor comes first in the editor tools, the headers editor second.
    headers: '.graphiql-editor-tool .CodeMirror >> nth=1',
  };

  /** Replaces the text of GraphiQL's query or headers editor, as typing would. */
  async function setEditor(page: Page, editor: keyof typeof EDITORS, text: string) {
    await page.locator(EDITORS[editor]).evaluate((element, value) => {
      (element as unknown as { CodeMirror: { setValue(text: string): void } }).CodeMirror.setValue(value);
    }, text);
  }

  /**
   * Puts `text` in the query editor and waits until GraphiQL has read which operation it holds (100 ms after an
   * edit), as it would have by the time a person reaches the run button.
   */
  async function setQuery(page: Page, text: string, operationName: string) {
    await setEditor(page, 'query', text);
    await page.waitForFunction(
      ({ selector, name }) =>
        (document.querySelector(selector) as unknown as { CodeMirror: { operationName?: string } } | null)?.CodeMirror
          .operationName === name,
      { selector: EDITORS.query, name: operationName },
    );
  }

  /** Waits until GraphiQL's result pane (CodeMirror, which draws only the lines in view) holds `text`. */
  const resultShows = (page: Page, text: string) =>
    page.waitForFunction((value) => {
      const editor = document.querySelector('.graphiql-response .CodeMirror') as unknown as {
        CodeMirror: { getValue(): string };
      } | null;
      return editor?.CodeMirror.getValue().includes(value) ?? false;
    }, text);

  it('should run a query with the Authorization header from its Headers tab', async () => {
    const { page, problems } = await openExplorer(`Bearer ${await stack.login('alice')}`);
    await setQuery(page, 'query Me { viewer { username fullName } }', 'Me');
    await page.locator('.graphiql-execute-button').click();
    await resultShows(page, '"username": "alice"');
    // The schema came through introspection: the documentation explorer lists the supergraph's types.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await page.locator('.graphiql-doc-explorer').getByText('Subscription', { exact: true }).waitFor();
    // A dialog injects a <style> element (scroll lock), which the policy must let through.
    await page.getByRole('button', { name: 'Open settings dialog' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('should receive a DM live on a subscription it runs over graphql-ws', async () => {
    const bob = await openExplorer(`Bearer ${await stack.login('bob')}`);
    await setQuery(
      bob.page,
      'subscription NewMessages { directMessageReceived { text sender { username } } }',
      'NewMessages',
    );
    await bob.page.locator('.graphiql-execute-button').click();
    await stack.liveSubscriptions(1);
    const bobId = (await stack.query('{ user(username: "bob") { id } }')).data!.user.id as string;
    await sendDm(stack, 'alice', bobId, 'Hello from the explorer test');
    await resultShows(bob.page, '"text": "Hello from the explorer test"');
    await resultShows(bob.page, '"username": "alice"');
    expect(bob.problems).toEqual([]);
    await bob.page.context().close();
  });

  it("should receive a DM live in the browser's own EventSource, over SSE with the token in `extensions`", async () => {
    const { page, problems } = await newPage();
    await page.goto(new URL('/explorer', stack.gatewayUrl).href);
    await stack.liveSubscriptions(0);
    // The README's EventSource snippet, in the page: a GET the browser makes itself, headers it cannot set.
    await page.evaluate(
      (token) => {
        const url = new URL('/graphql', window.location.href);
        url.search = new URLSearchParams({
          query: 'subscription { directMessageReceived { text sender { username } } }',
          extensions: JSON.stringify({ authorization: `Bearer ${token}` }),
        }).toString();
        const received: unknown[] = [];
        Object.assign(window, { received });
        new EventSource(url).addEventListener('next', (event) => received.push(JSON.parse(event.data as string)));
      },
      await stack.login('bob'),
    );
    await stack.liveSubscriptions(1);
    const bobId = (await stack.query('{ user(username: "bob") { id } }')).data!.user.id as string;
    await sendDm(stack, 'alice', bobId, 'Hello, EventSource');
    await page.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length > 0);
    expect(await page.evaluate(() => (window as unknown as { received: unknown[] }).received)).toEqual([
      { data: { directMessageReceived: { text: 'Hello, EventSource', sender: { username: 'alice' } } } },
    ]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('should point to the explorer when Apollo Sandbox cannot be loaded from its CDN', async () => {
    const { page, problems } = await newPage();
    // Offline: the CDN answers nothing (the machine may or may not reach it; the test must not depend on it).
    await page.route(/^https:\/\/embeddable-sandbox\.cdn\.apollographql\.com\//, (route) => route.abort());
    await page.goto(new URL('/', stack.gatewayUrl).href);
    const unreachable = page.locator('#sandbox-unreachable');
    await unreachable.waitFor();
    await unreachable.getByRole('link', { name: 'local explorer' }).click();
    await page.locator('.graphiql-execute-button').waitFor();
    expect(page.url()).toBe(new URL('/explorer', stack.gatewayUrl).href);
    // The one failure is the blocked CDN script.
    expect(problems).toEqual([expect.stringMatching(/Failed to load resource/)]);
    await page.context().close();
  });
});
