/** How the gateway calls a subgraph over HTTP: pooled connections, a deadline, its assertion, mapped failures. */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  codedError,
  ErrorCode,
  GATEWAY_ASSERTION_HEADER,
  internalError,
  REQUEST_ID_HEADER,
  type Logger,
  type Metrics,
} from '@igt/common';
import type { GatewayContext } from './context.js';

/** How long the gateway waits for a subgraph, and how many connections it may hold to one. */
export interface SubgraphFetchLimits {
  /** A subgraph fetch that has not finished by then fails with SUBGRAPH_UNAVAILABLE (default 10 s). */
  timeoutMs?: number;
  /** Connections held to one subgraph at most; further fetches wait for one (default 64). */
  maxConnections?: number;
}

/**
 * Sends every subgraph request with the gateway's signed assertion of the viewer and the request id. This is the one
 * place per-request headers to subgraphs are set.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly timeoutMs: number;
  private readonly agent: Agent;

  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    { timeoutMs = 10_000, maxConnections = 64 }: SubgraphFetchLimits = {},
  ) {
    // A pooled keep-alive client per subgraph: bounded, so an overload queues requests here instead of opening
    // connections without limit, and every fetch has a deadline, so a subgraph that never answers hangs nothing.
    // The gateway always sends a string body, which is all the cast covers.
    const agent = new Agent({ connections: maxConnections });
    super({
      url,
      fetcher: (input, init) =>
        undiciFetch(input, {
          ...(init as object),
          dispatcher: agent,
          signal: AbortSignal.timeout(timeoutMs),
        }) as unknown as ReturnType<NonNullable<RemoteGraphQLDataSource['fetcher']>>,
    });
    this.timeoutMs = timeoutMs;
    this.agent = agent;
  }

  /** Closes the pooled connections (the gateway is stopping). */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Times each fetch for `gateway_subgraph_fetch_duration_seconds`. */
  override async process(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): ReturnType<RemoteGraphQLDataSource['process']> {
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

  /**
   * A subgraph that cannot be reached, or answers the gateway with an HTTP error (a refused assertion, say), is the
   * gateway's problem, not the client's: the details go to the logs, never to the client (Apollo's default error
   * would relay the subgraph's URL and body, and call a refused assertion the client's UNAUTHENTICATED).
   */
  override didEncounterError(error: Error, _request: unknown, response?: { status: number }): never {
    if (error.name === 'TimeoutError') {
      this.logger.warn({ subgraph: this.subgraph, timeoutMs: this.timeoutMs }, 'subgraph timed out');
      throw codedError(
        ErrorCode.SubgraphUnavailable,
        `The ${this.subgraph} service did not answer in time. Try again in a moment.`,
        {
          subgraph: this.subgraph,
        },
      );
    }
    if (response) {
      this.logger.error(
        { subgraph: this.subgraph, status: response.status, err: error },
        'subgraph refused a request from the gateway',
      );
      throw internalError();
    }
    this.logger.warn({ subgraph: this.subgraph, err: error }, 'subgraph unreachable');
    throw codedError(
      ErrorCode.SubgraphUnavailable,
      `The ${this.subgraph} service is unavailable right now. Try again in a moment.`,
      {
        subgraph: this.subgraph,
      },
    );
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    // Health checks and other gateway-internal requests carry no incoming context.
    if (!context?.assertion) return;
    request.http?.headers.set(GATEWAY_ASSERTION_HEADER, await context.assertion());
    request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
  }
}
