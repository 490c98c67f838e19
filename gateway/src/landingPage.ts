/** The page a browser gets on the gateway's `/`: Apollo Sandbox, opened on a federated query, or nothing. */
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';

/** The operation Apollo Sandbox opens with: a profile resolved by all three subgraphs, ready to run. */
const SANDBOX_DOCUMENT = `# A Threads profile: Threads resolves it, Instagram the account, Messaging the Message button's state.
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

/** Apollo Sandbox (no telemetry, no cookies) while introspection is on; no landing page otherwise. */
export function landingPage(introspection: boolean) {
  return introspection
    ? ApolloServerPluginLandingPageLocalDefault({
        document: SANDBOX_DOCUMENT,
        embed: { endpointIsEditable: false, runTelemetry: false },
        includeCookies: false,
      })
    : ApolloServerPluginLandingPageDisabled();
}
