/** Apollo Client 4 as an app uses it: a Threads profile's Message button, the DM, received live and in the inbox. */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type TestStack } from './support/harness.js';

let stack: TestStack;
const disposers: (() => unknown)[] = [];

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await Promise.all(disposers.map((dispose) => dispose()));
  await stack?.close();
});

/** An Apollo Client 4 set up the way an app would: subscriptions over graphql-ws, everything else over HTTP. */
function appClient(token: string) {
  const ws = createClient({
    url: stack.gatewayUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    new HttpLink({ uri: stack.gatewayUrl, headers: { authorization: `Bearer ${token}` } }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  disposers.push(
    () => client.stop(),
    () => ws.dispose(),
  );
  return client;
}

const PROFILE = gql`
  query ThreadsProfile($username: String!) {
    profile(username: $username) {
      id
      username
      messageAction {
        label
        mutation
        inbox
        enabled
        disabledReason
        recipient {
          id
          username
        }
        conversation {
          id
        }
      }
    }
  }
`;

const NEW_MESSAGES = gql`
  subscription NewMessages {
    directMessageReceived {
      id
      text
      source
      sender {
        username
        threadsProfile {
          username
        }
      }
      conversation {
        id
      }
    }
  }
`;

describe('Apollo Client 4 against the gateway', () => {
  it("should follow a Threads profile's Message button into sendDirectMessage and receive the DM live on another client", async () => {
    const alice = appClient(await stack.login('alice'));
    const bob = appClient(await stack.login('bob'));

    const received: any[] = [];
    const subscription = bob
      .subscribe({ query: NEW_MESSAGES })
      .subscribe({ next: (result) => received.push(result.data) });
    disposers.push(() => subscription.unsubscribe());
    await stack.liveSubscriptions(1);

    const { data } = await alice.query({ query: PROFILE, variables: { username: 'bob' } });
    const action = (data as any).profile.messageAction;
    expect(action).toMatchObject({
      label: 'Message',
      mutation: 'sendDirectMessage',
      inbox: 'INSTAGRAM',
      enabled: true,
      disabledReason: null,
    });

    // The button names the mutation; the app sends it with `source: THREADS` to the button's recipient.
    const send = gql`
      mutation ${action.mutation}($input: SendDirectMessageInput!) {
        ${action.mutation}(input: $input) { message { id text source } conversation { id } }
      }
    `;
    const sent = await alice.mutate({
      mutation: send,
      variables: {
        input: { recipientId: action.recipient.id, text: 'Hi from your Threads profile', source: 'THREADS' },
      },
    });
    const message = (sent.data as any).sendDirectMessage.message;
    expect(message).toMatchObject({ text: 'Hi from your Threads profile', source: 'THREADS' });

    await eventually(() => received.length === 1);
    expect(received[0].directMessageReceived).toMatchObject({
      id: message.id,
      source: 'THREADS',
      sender: { username: 'alice', threadsProfile: { username: 'alice' } },
    });

    // It lands in bob's Instagram inbox, marked as sent from Threads.
    const inbox = await bob.query({
      query: gql`
        {
          inbox {
            edges {
              node {
                id
                lastMessage {
                  id
                  source
                }
              }
            }
          }
        }
      `,
      fetchPolicy: 'network-only',
    });
    const conversation = (inbox.data as any).inbox.edges.find((edge: any) => edge.node.lastMessage?.id === message.id);
    expect(conversation.node.lastMessage.source).toBe('THREADS');
  });
});
