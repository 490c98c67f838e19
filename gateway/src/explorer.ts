/**
 * The explorer the gateway serves itself at /explorer: GraphiQL, with every script and style from npm packages
 * installed with the gateway, so it works with no network beyond the gateway (Apollo Sandbox needs Apollo's CDN).
 */
import type { RouteHandler } from '@igt/common';
import { htmlPage, jsonForHtml, packageFile, publicFile, staticFiles } from './browser.js';
import { SANDBOX_DOCUMENT } from './landingPage.js';

/** Where the explorer is, on the gateway's public port. */
export const EXPLORER_PATH = '/explorer';

/** The Headers tab's first content: where the token from the login mutation goes (empty is signed out). */
const EXPLORER_HEADERS = `{
  "Authorization": ""
}`;

/** What gateway/public/explorer.js reads from the page to start GraphiQL. */
interface ExplorerConfig {
  /** The first tab's operation. */
  document: string;
  /** The Headers tab's first content, JSON. */
  headers: string;
}

/**
 * GraphiQL's UMD build runs on React 18's UMD files (window.React, window.ReactDOM) and carries its own graphql-ws
 * client; explorer.js starts it. No bundler: each file is served as npm installed it.
 */
const FILES = {
  'react.production.min.js': packageFile('react', 'umd/react.production.min.js'),
  'react-dom.production.min.js': packageFile('react-dom', 'umd/react-dom.production.min.js'),
  'graphiql.min.js': packageFile('graphiql', 'graphiql.min.js'),
  'graphiql.min.css': packageFile('graphiql', 'graphiql.min.css'),
  'explorer.js': publicFile('explorer.js'),
  'explorer.css': publicFile('explorer.css'),
};

/**
 * Scripts only from the gateway, and no inline script; GraphiQL's fonts are data: URLs inside its stylesheet, and its
 * editor and panes set inline styles (CodeMirror, Radix), hence the one `'unsafe-inline'` for styles. Requests go to
 * the same origin only: `/graphql` over HTTP and WebSocket.
 */
const EXPLORER_CSP = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
  'font-src': 'data:',
  'img-src': "'self' data:",
  'connect-src': "'self'",
  'base-uri': "'none'",
  'form-action': "'none'",
  'frame-ancestors': "'none'",
};

/** Routes for `router`: the explorer's page and the files it loads. */
export function explorerRoutes(): Record<string, RouteHandler> {
  const files = staticFiles(FILES);
  const config: ExplorerConfig = { document: SANDBOX_DOCUMENT, headers: EXPLORER_HEADERS };
  const scripts = ['react.production.min.js', 'react-dom.production.min.js', 'graphiql.min.js', 'explorer.js'];
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <title>Explorer · Instagram, Threads and Messaging supergraph</title>
    <link rel="stylesheet" href="${files.url('graphiql.min.css')}" />
    <link rel="stylesheet" href="${files.url('explorer.css')}" />
    <script type="application/json" id="explorer-config">${jsonForHtml(config)}</script>
${scripts.map((name) => `    <script defer src="${files.url(name)}"></script>`).join('\n')}
  </head>
  <body>
    <div id="graphiql"><p class="explorer-loading">Loading the explorer…</p></div>
    <noscript>The explorer needs JavaScript.</noscript>
  </body>
</html>
`;
  return { [EXPLORER_PATH]: htmlPage(html, EXPLORER_CSP), ...files.routes };
}
