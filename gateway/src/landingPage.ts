/**
 * The page a browser gets on the gateway's `/` (and `/graphql`): Apollo Sandbox, embedded from Apollo's CDN and opened
 * on a federated query, under a bar that links the local explorer, which works offline; a clear message in Sandbox's
 * place when the CDN cannot be reached.
 */
import type { IncomingMessage } from 'node:http';
import type { RouteHandler } from '@igt/common';
import { htmlPage, jsonForHtml, publicFile, staticFiles } from './browser.js';

/** The operation Apollo Sandbox and the explorer open with: a profile resolved by all three subgraphs, ready to run. */
export const SANDBOX_DOCUMENT = `# A Threads profile: Threads resolves it, Instagram the account, Messaging the Message button's state.
# Sign in with the login mutation (see the README's demo logins) and send the token as "Authorization: Bearer <token>".
query Profile {
  profile(username: "alice") {
    username
    bio
    followerCount
    user { fullName followerCount isVerified }
    threads(first: 3) { edges { node { text likeCount replyCount } } }
    messageAction { label mutation inbox enabled disabledReason recipient { id username } }
  }
}
`;

/** Apollo's embeddable Sandbox (the script Apollo Server's own landing page loads), and the origin of its frame. */
const SANDBOX_ORIGIN = 'https://embeddable-sandbox.cdn.apollographql.com';
const SANDBOX_SCRIPT = `${SANDBOX_ORIGIN}/v2/embeddable-sandbox.umd.production.min.js`;
const SANDBOX_FRAME_ORIGIN = 'https://sandbox.embed.apollographql.com';

/** What gateway/public/landing.js reads from the page: where Sandbox comes from, and its options. */
interface LandingConfig {
  script: string;
  /** Options of `new EmbeddedSandbox(…)`, besides `target` and `initialEndpoint`, which the script sets. */
  sandbox: {
    initialState: { document: string; includeCookies: boolean };
    endpointIsEditable: boolean;
    hideCookieToggle: boolean;
    runTelemetry: boolean;
  };
}

/**
 * Scripts and styles from the gateway and Apollo's CDN only, Sandbox's frame from Apollo only: the policy Apollo
 * Server's own landing page sets for the same script (plus the gateway's files), which the embed is known to work under.
 * Requests are not limited: the embedding page runs Sandbox's operations itself, to whatever endpoint Sandbox is given.
 */
const LANDING_CSP = {
  'script-src': `'self' ${SANDBOX_ORIGIN}`,
  'style-src': `'self' ${SANDBOX_ORIGIN}`,
  'img-src': "'self' data:",
  'frame-src': SANDBOX_FRAME_ORIGIN,
  'base-uri': "'none'",
  'form-action': "'none'",
  'frame-ancestors': "'none'",
};

/** True for a browser opening the page (GET, HTML accepted, no `query` parameter), as Apollo Server tells them apart. */
function isPageRequest(req: IncomingMessage): boolean {
  if (req.method !== 'GET' || !/\btext\/html\b/.test(req.headers.accept ?? '')) return false;
  return !new URL(req.url ?? '/', 'http://localhost').searchParams.has('query');
}

/**
 * Routes for `router`: `graphql` on each of `paths`, except for a browser opening the page, which gets the landing
 * page (linking the explorer at `explorerPath`); plus the files the page loads.
 */
export function landingPageRoutes(
  paths: string[],
  graphql: RouteHandler,
  explorerPath: string,
): Record<string, RouteHandler> {
  const files = staticFiles({ 'landing.js': publicFile('landing.js'), 'landing.css': publicFile('landing.css') });
  const config: LandingConfig = {
    script: SANDBOX_SCRIPT,
    sandbox: {
      initialState: { document: SANDBOX_DOCUMENT, includeCookies: false },
      endpointIsEditable: false,
      hideCookieToggle: true,
      runTelemetry: false,
    },
  };
  const page = htmlPage(
    `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <title>Instagram, Threads and Messaging supergraph</title>
    <link rel="stylesheet" href="${files.url('landing.css')}" />
    <script type="application/json" id="landing-config">${jsonForHtml(config)}</script>
    <script defer src="${files.url('landing.js')}"></script>
  </head>
  <body>
    <header>
      Apollo Sandbox, from Apollo's CDN ·
      <a href="${explorerPath}">Local explorer (GraphiQL, served by this gateway, works offline)</a>
    </header>
    <main id="sandbox">
      <p id="sandbox-unreachable" hidden>
        Apollo Sandbox cannot be loaded: this browser cannot reach Apollo's CDN (offline?). The
        <a href="${explorerPath}">local explorer</a> needs nothing but this gateway.
      </p>
    </main>
  </body>
</html>
`,
    LANDING_CSP,
  );
  const front: RouteHandler = (req, res) => (isPageRequest(req) ? page(req, res) : graphql(req, res));
  return { ...Object.fromEntries(paths.map((path) => [path, front])), ...files.routes };
}
