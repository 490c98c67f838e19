/** The operations the bench sends: the README's own examples, read from it so they stay exactly what it shows. */
import { readFileSync } from 'node:fs';

/** The ```graphql block of the README that opens with `opening` (e.g. `query Profile {`), without its indentation. */
function fromReadme(opening: string): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const [, indent = '', body = ''] of readme.matchAll(/^( *)```graphql\n([\s\S]*?)^ *```/gm)) {
    const document = body
      .split('\n')
      .map((line) => line.slice(indent.length))
      .join('\n');
    if (document.startsWith(opening)) return document;
  }
  throw new Error(`README.md: no \`\`\`graphql block opens with "${opening}"`);
}

/** The federated profile query under "Try it" (Threads, Instagram and Messaging). */
export const PROFILE = fromReadme('query Profile {');
/** The live-DM subscription under "The Message button, end to end", with fields from every subgraph. */
export const NEW_MESSAGES = fromReadme('subscription NewMessages {');
/** A 20-item feed with each author's Instagram fields. */
export const FEED = `query Feed { feed(first: 20) { edges { node { text likeCount replyCount viewerHasLiked author { username user { fullName followerCount } } } } } }`;
/** The same feed with Threads fields only: what Threads answers without the gateway's help. */
export const FEED_LOCAL = `query Feed { feed(first: 20) { edges { node { text likeCount replyCount viewerHasLiked author { username } } } } }`;
