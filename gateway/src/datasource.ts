/** How the gateway calls a subgraph over HTTP: pooled connections, batches, a deadline, its assertion, mapped failures. */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { context, SpanKind, trace, type Context, type Link } from '@opentelemetry/api';
import { Agent } from 'undici';
import {
  codedError,
  ErrorCode,
  GATEWAY_ASSERTION_HEADER,
  inSpan,
  internalError,
  REQUEST_ID_HEADER,
  serviceTracer,
  traceCarrier,
  type Logger,
  type Metrics,
} from '@igt/common';
import type { GatewayContext } from './context.js';

type Fetcher = RemoteGraphQLDataSource['fetcher'];
type FetcherResponse = Awaited<ReturnType<Fetcher>>;

/** What RemoteGraphQLDataSource hands its fetcher: headers as a plain object, the operation as a JSON string. */
interface SentInit {
  headers: Record<string, string>;
  body: string;
}

/** How long the gateway waits for a subgraph, and how many connections it may hold to one. */
export interface SubgraphFetchLimits {
  /** A subgraph fetch that has not finished by then fails with SUBGRAPH_UNAVAILABLE (default 10 s). */
  timeoutMs?: number;
  /** Connections held to one subgraph at most; further fetches wait for one (default 64). */
  maxConnections?: number;
}

/** A subgraph's answer to one fetch: its status and body, as text or, out of a batch, already parsed. */
type SubgraphAnswer = { status: number } & ({ text: string } | { value: unknown });

const isOk = (status: number) => status >= 200 && status < 300;
/** Subgraphs answer JSON, including their errors. */
const JSON_HEADERS = new Headers({ 'content-type': 'application/json' });

/** What RemoteGraphQLDataSource reads of a fetch response, made from an answer already read in full. */
function fetcherResponse(url: string, answer: SubgraphAnswer): FetcherResponse {
  const text = () => ('text' in answer ? answer.text : JSON.stringify(answer.value));
  return {
    ok: isOk(answer.status),
    status: answer.status,
    statusText: String(answer.status),
    url,
    headers: JSON_HEADERS,
    json: async () => ('value' in answer ? answer.value : (JSON.parse(answer.text) as unknown)),
    text: async () => text(),
  } as unknown as FetcherResponse;
}

/** Fetches of one gateway request to one subgraph that wait for the same POST. */
interface Batch {
  headers: Record<string, string>;
  bodies: string[];
  answers: { resolve(answer: SubgraphAnswer): void; reject(error: unknown): void }[];
  /** Each fetch's trace context (its `gateway.fetch` span): the POST's span is a child of the first, linked to the rest. */
  parents: Context[];
}

const tracer = serviceTracer('gateway');

/**
 * Sends every subgraph request with the gateway's signed assertion of the viewer and the request id. This is the one
 * place per-request headers to subgraphs are set.
 *
 * The fetches a query plan runs side by side against one subgraph (a profile's `user` and its Message button's
 * `recipient` both go to Instagram, say) leave as one batched POST: one round trip, one assertion check, and one
 * request context in the subgraph, whose DataLoaders then read each row once for both.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly timeoutMs: number;
  private readonly agent: Agent;
  private readonly target: URL;
  /** Batches still collecting, by assertion and request id (the fetches of one gateway request). */
  private readonly batches = new Map<string, Batch>();

  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    { timeoutMs = 10_000, maxConnections = 64 }: SubgraphFetchLimits = {},
  ) {
    super({ url });
    // A pooled keep-alive client per subgraph: bounded, so an overload queues requests here instead of opening
    // connections without limit, and every fetch has a deadline, so a subgraph that never answers hangs nothing.
    this.agent = new Agent({ connections: maxConnections });
    this.timeoutMs = timeoutMs;
    this.target = new URL(url);
    // undici's request API, not fetch: the body is a string and the answer is read whole, so fetch's streams are
    // pure cost. The cast covers the headers and body the data source always sends: a plain object and a string.
    this.fetcher = (_input, init) => this.enqueue(init as unknown as SentInit);
  }

  /** Joins the batch of this fetch's gateway request, or sends it alone when it belongs to none (health checks). */
  private async enqueue(init: SentInit): Promise<FetcherResponse> {
    const { headers, body } = init;
    const assertion = headers[GATEWAY_ASSERTION_HEADER];
    if (!assertion) return fetcherResponse(this.url!, await this.post(headers, body, [context.active()]));
    const key = `${assertion}\n${headers[REQUEST_ID_HEADER] ?? ''}`;
    let batch = this.batches.get(key);
    if (!batch) {
      const opened: Batch = { headers, bodies: [], answers: [], parents: [] };
      this.batches.set(key, opened);
      // Fetches of one plan step reach here in the same turn of the event loop; the next turn sends them together.
      setImmediate(() => {
        this.batches.delete(key);
        void this.send(opened);
      });
      batch = opened;
    }
    batch.bodies.push(body);
    batch.parents.push(context.active());
    const answer = await new Promise<SubgraphAnswer>((resolve, reject) => batch.answers.push({ resolve, reject }));
    return fetcherResponse(this.url!, answer);
  }

  /** Sends a batch: one operation as a plain POST, several as Apollo Server's batched array of operations. */
  private async send({ headers, bodies, answers, parents }: Batch): Promise<void> {
    try {
      if (bodies.length === 1) {
        answers[0]!.resolve(await this.post(headers, bodies[0]!, parents));
        return;
      }
      const { status, text } = await this.post(headers, `[${bodies.join(',')}]`, parents);
      const results = isOk(status) ? (JSON.parse(text) as unknown) : null;
      if (!Array.isArray(results) || results.length !== answers.length) {
        // Refused as a whole (an assertion the subgraph does not accept, say): each fetch fails as it would alone.
        for (const answer of answers) answer.resolve({ status: isOk(status) ? 502 : status, text });
        return;
      }
      answers.forEach((answer, index) => answer.resolve({ status, value: results[index] }));
    } catch (error) {
      for (const answer of answers) answer.reject(error);
    }
  }

  /**
   * One POST to the subgraph on the pooled connections, read in full before the deadline, in a client span whose
   * `traceparent` goes along, so the subgraph's spans join the trace of the fetches in `parents`.
   */
  private post(
    headers: Record<string, string>,
    body: string,
    [parent, ...others]: Context[],
  ): Promise<{ status: number; text: string }> {
    const links = others.flatMap((other): Link[] => {
      const linked = trace.getSpanContext(other);
      return linked ? [{ context: linked }] : [];
    });
    const attributes = {
      'peer.service': this.subgraph,
      'http.request.method': 'POST',
      'server.address': this.target.hostname,
      'url.full': this.target.href,
    };
    return inSpan(
      tracer,
      `POST ${this.subgraph}`,
      { kind: SpanKind.CLIENT, links, attributes },
      async (span) => {
        const carrier = traceCarrier();
        const response = await this.agent.request({
          origin: this.target.origin,
          path: this.target.pathname + this.target.search,
          method: 'POST',
          headers: Object.keys(carrier).length ? { ...headers, ...carrier } : headers,
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        span.setAttribute('http.response.status_code', response.statusCode);
        return { status: response.statusCode, text: await response.body.text() };
      },
      parent,
    );
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
