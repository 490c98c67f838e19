// Starts GraphiQL (gateway/src/explorer.ts serves this page): queries and mutations over HTTP to this origin's
// /graphql with the Headers tab's headers, subscriptions over graphql-ws on the same path with those headers as
// connectionParams (the gateway reads Authorization there whatever its case).
'use strict';

const config = JSON.parse(document.getElementById('explorer-config').textContent);
const endpoint = new URL('/graphql', window.location.href);
const subscriptionUrl = new URL(endpoint);
subscriptionUrl.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

const fetcher = GraphiQL.createFetcher({
  url: endpoint.href,
  subscriptionUrl: subscriptionUrl.href,
  // The gateway answers plain JSON; GraphiQL need not ask for multipart responses.
  enableIncrementalDelivery: false,
});

ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: config.document,
    defaultHeaders: config.headers,
    defaultEditorToolsVisibility: 'headers',
  }),
);
