import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GATEWAY_ASSERTION_HEADER, REQUEST_ID_HEADER, type Metrics } from '@igt/common';
import type { GatewayContext } from './context.js';

/**
 * Sends every subgraph request with the gateway's signed assertion of the viewer and the request id. This is the one
 * place per-request headers to subgraphs are set.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly metrics: Metrics,
  ) {
    // Node's own fetch (undici, keep-alive) instead of the default make-fetch-happen, whose HTTP cache and agent
    // machinery cost more per subgraph fetch than the fetch itself on a loopback or in-cluster network.
    // The gateway always sends a string body, which is all the cast covers.
    super({ url, fetcher: (input, init) => fetch(input, init as RequestInit) });
  }

  /** Times each fetch for `gateway_subgraph_fetch_duration_seconds`. */
  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): ReturnType<RemoteGraphQLDataSource['process']> {
    const stop = this.metrics.subgraphFetchDuration.startTimer({ subgraph: this.subgraph });
    try {
      const response = await super.process(options);
      stop({ outcome: response.errors?.length ? 'error' : 'ok' });
      return response;
    } catch (error) {
      stop({ outcome: 'unavailable' });
      throw error;
    }
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    // Health checks and other gateway-internal requests carry no incoming context.
    if (!context?.assertion) return;
    request.http?.headers.set(GATEWAY_ASSERTION_HEADER, await context.assertion());
    request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
  }
}
