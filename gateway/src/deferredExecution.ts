/** Queries with `@defer` through the gateway: planned with their deferred parts, the primary part first, the rest after. */
import { buildOperationContext, executeQueryPlan, type ServiceMap } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type DeferNode, type DeferredNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import {
  getDirectiveValues,
  GraphQLError,
  Kind,
  print,
  type DirectiveNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLSchema,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { internalError, type Logger } from '@igt/common';
import type { GatewayContext } from './context.js';
import { DEFER_DIRECTIVE } from './defer.js';

/** Plans kept for operations asked again (the oldest is dropped past this many). */
const MAX_CACHED_PLANS = 500;

/** One deferred fragment's data where it belongs in the response (the incremental delivery format of 2022-08-24). */
export interface DeferredPayload {
  /** The fragment's fields at `path`, or null when an error left no object to put them in. */
  data: Record<string, unknown> | null;
  path: (string | number)[];
  /** The client's `label` of the fragment, when it gave one. */
  label?: string;
  errors?: readonly GraphQLError[];
  extensions?: Record<string, unknown>;
}

/** What follows the primary part: the deferred payloads that are ready, and whether more will come. */
export interface SubsequentResult {
  incremental?: DeferredPayload[];
  hasNext: boolean;
}

/** A query with active `@defer`s, executed: its primary part, and the deferred parts as they complete. */
export interface DeferredExecution {
  initial: ExecutionResult & { hasNext: true };
  subsequent: AsyncIterable<SubsequentResult>;
}

/** What one request brings: the operation Apollo Server validated, its fragments, variables (coerced) and context. */
export interface DeferredRequest {
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  /** The variables as the client sent them: they go on to the subgraphs as they would for any query. */
  variables: Record<string, unknown>;
  /** The variables coerced to their types: `@defer(if:)` and `label` are read with them. */
  coercedVariables: Record<string, unknown>;
  context: GatewayContext;
}

/** The document shape the response of one part is computed with: the primary part, or one deferred fragment. */
interface View {
  operationContext: ReturnType<typeof buildOperationContext>;
  /** For a deferred fragment: the fragment in the view, whose parent objects the payloads are. */
  target?: InlineFragmentNode;
}

interface Planned {
  node: DeferNode;
  operation: OperationDefinitionNode;
  /** The client's label by the label given to each active `@defer` for planning. */
  labels: Map<string, string | undefined>;
  /** Views by the planning label of their fragment (`''` for the primary part), made when first needed. */
  views: Map<string, View>;
}

/** A subgraph's answers to the fetches of one part, by fetch: later parts reuse them rather than fetch again. */
type Answers = Map<string, { data?: Record<string, unknown> | null }>;

/**
 * Executes queries that hold `@defer`. `@apollo/gateway`'s executor refuses deferred plans, but its query planner makes
 * them: a `DeferNode` with a primary plan and deferred plans, each deferred one depending on fetches before it. This
 * runs the primary plan and returns its result at once; each deferred plan then runs as the primary plan followed by
 * its own, with every fetch already made answered from that fetch's recorded answer, so no subgraph is asked twice and
 * the deferred fetches see exactly the data they were planned on. Each part's response is shaped by a document that
 * holds only that part (the primary part without its deferred fragments; a deferred fragment with the path to it), so
 * a part's errors, and the nulls they cause, stay in that part.
 */
export class DeferredQueryExecutor {
  private readonly planner: QueryPlanner;
  private readonly plannerSchema: Schema;
  private readonly supergraphSchema: GraphQLSchema;
  private readonly apiSchema: GraphQLSchema;
  /** Plans by the printed operation with its `@defer`s resolved (so by which of them are active) and their labels. */
  private readonly plans = new Map<string, Planned>();

  constructor(
    supergraphSdl: string,
    private readonly serviceMap: ServiceMap,
    private readonly logger: Logger,
  ) {
    const supergraph = Supergraph.build(supergraphSdl);
    this.planner = new QueryPlanner(supergraph, { incrementalDelivery: { enableDefer: true } });
    this.plannerSchema = supergraph.apiSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.apiSchema = this.plannerSchema.toGraphQLJSSchema();
  }

  /**
   * Runs the primary part and starts the deferred ones; null when no `@defer` of the operation is active (all `if:
   * false`): the query is then an ordinary one.
   */
  async execute(request: DeferredRequest): Promise<DeferredExecution | null> {
    const planned = this.plan(request);
    if (!planned) return null;
    const { node } = planned;
    const answers: Answers = new Map();
    const initial = await this.runPart(planned, '', [node.primary.node], [], answers, request);
    const queue = new DeferredQueue();
    this.startDeferred(planned, node.deferred, [node.primary.node], [answers], queue, request);
    return { initial: { ...initial, hasNext: true }, subsequent: queue.results() };
  }

  /**
   * The plan of a request's deferred parts; null when there is nothing to split (no active `@defer`, an operation
   * too large once its fragments are inlined, or one the planner cannot split, such as `@defer` within
   * introspection): the query then runs whole, as an ordinary one.
   */
  private plan(request: DeferredRequest): Planned | null {
    const resolved = resolveDefers(request.operation, request.fragments, request.coercedVariables);
    if (!resolved || resolved.labels.size === 0) return null;
    const { operation, labels } = resolved;
    // The client's labels are part of the key: the printed operation holds ours in their place.
    const key = JSON.stringify([print(operation), [...labels.values()]]);
    const cached = this.plans.get(key);
    if (cached) return cached;
    let plan: QueryPlan;
    try {
      plan = this.planner.buildQueryPlan(
        operationFromDocument(this.plannerSchema, { kind: Kind.DOCUMENT, definitions: [operation] }),
      );
    } catch (error) {
      this.logger.debug({ err: error }, 'a deferred query could not be planned in parts: it runs whole');
      return null;
    }
    // The planner puts every active @defer under one DeferNode at the root; anything else is a plan this cannot split.
    if (plan.node?.kind !== 'Defer') return null;
    const planned: Planned = { node: plan.node, operation, labels, views: new Map() };
    if (this.plans.size >= MAX_CACHED_PLANS) this.plans.delete(this.plans.keys().next().value!);
    this.plans.set(key, planned);
    return planned;
  }

  /** Starts deferred parts side by side; each one's nested deferred parts start once its own fetches are done. */
  private startDeferred(
    planned: Planned,
    deferred: readonly DeferredNode[],
    before: readonly (PlanNode | undefined)[],
    earlier: readonly Answers[],
    queue: DeferredQueue,
    request: DeferredRequest,
  ): void {
    queue.expect(deferred.length);
    for (const part of deferred) {
      // A deferred part with deferred parts of its own plans as a DeferNode: its primary is the part itself.
      const own = part.node?.kind === 'Defer' ? part.node.primary.node : part.node;
      const nested = part.node?.kind === 'Defer' ? part.node.deferred : [];
      const label = part.label!;
      const answers: Answers = new Map();
      void this.runPart(planned, label, [...before, own], earlier, answers, request).then((result) => {
        let payloads: DeferredPayload[];
        try {
          payloads = this.payloads(planned, label, result);
        } catch (error) {
          this.logger.error({ err: error }, 'could not shape a deferred part');
          queue.deliver([{ data: null, path: [], errors: [internalError()] }]);
          return;
        }
        // Nested parts are expected before this one is queued, so `hasNext` never says false too early.
        this.startDeferred(planned, nested, [...before, own], [...earlier, answers], queue, request);
        queue.deliver(payloads);
      });
    }
  }

  /**
   * Runs `nodes` in sequence and shapes the result with the view of the part `label`. Fetches answered in `earlier`
   * parts are answered again from there (without their errors, which went out with those parts); this part's own
   * fetches are recorded in `answers`. Never rejects: a fault of the gateway's own is an INTERNAL_SERVER_ERROR.
   */
  private async runPart(
    planned: Planned,
    label: string,
    nodes: readonly (PlanNode | undefined)[],
    earlier: readonly Answers[],
    answers: Answers,
    request: DeferredRequest,
  ): Promise<ExecutionResult> {
    const present = nodes.filter((node): node is PlanNode => node !== undefined);
    const plan: QueryPlan = {
      kind: 'QueryPlan',
      node: present.length > 1 ? { kind: 'Sequence', nodes: present } : present[0],
    };
    const serviceMap: ServiceMap = Object.fromEntries(
      Object.entries(this.serviceMap).map(([name, source]) => [
        name,
        {
          process: async (options) => {
            const key = JSON.stringify([name, options.request.query, options.request.variables]);
            const answered = earlier.find((part) => part.has(key))?.get(key);
            if (answered) return structuredClone(answered);
            try {
              const response = await source.process(options);
              // A copy: the executor merges later answers into the objects of this one.
              answers.set(key, structuredClone({ data: response.data }));
              return response;
            } catch (error) {
              answers.set(key, {});
              throw error;
            }
          },
        },
      ]),
    );
    // executeQueryPlan reads only these parts of Apollo Server's request context.
    const requestContext = {
      request: { variables: request.variables },
      context: request.context,
      logger: this.logger,
      metrics: {},
    } as unknown as Parameters<typeof executeQueryPlan>[2];
    try {
      return await executeQueryPlan(
        plan,
        serviceMap,
        requestContext,
        this.view(planned, label).operationContext,
        this.supergraphSchema,
        this.plannerSchema,
      );
    } catch (error) {
      this.logger.error({ err: error }, 'could not execute a deferred query');
      return { data: null, errors: [internalError()] };
    }
  }

  /** The view of the primary part (`''`) or of the deferred fragment `label`, made once per plan. */
  private view(planned: Planned, label: string): View {
    let view = planned.views.get(label);
    if (view) return view;
    const { operation } = planned;
    const found: { target?: InlineFragmentNode } = {};
    const selectionSet = label
      ? (routeTo(operation.selectionSet, label, found) ?? { kind: Kind.SELECTION_SET, selections: [] })
      : withoutDeferred(operation.selectionSet);
    const operationContext = buildOperationContext({
      schema: this.apiSchema,
      operationDocument: { kind: Kind.DOCUMENT, definitions: [{ ...operation, selectionSet }] },
    });
    view = { operationContext, ...(found.target ? { target: found.target } : {}) };
    planned.views.set(label, view);
    return view;
  }

  /**
   * The payloads of the deferred fragment `label` from its part's result: one per object the fragment applies to (a
   * fragment inside a list applies to each item). When an error left no such object, one payload with null data
   * carries the errors, at the path where the null stands.
   */
  private payloads(planned: Planned, label: string, result: ExecutionResult): DeferredPayload[] {
    const { target, operationContext } = this.view(planned, label);
    const clientLabel = planned.labels.get(label);
    const found: { data: Record<string, unknown>; path: (string | number)[] }[] = [];
    const nulls: (string | number)[][] = [];
    const walk = (selections: readonly SelectionNode[], value: Record<string, unknown>, path: (string | number)[]) => {
      for (const selection of selections) {
        if (selection === target) {
          if (Object.keys(value).length > 0) found.push({ data: value, path });
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          walk(selection.selectionSet.selections, value, path);
        } else if (selection.kind === Kind.FIELD && selection.selectionSet) {
          const key = selection.alias?.value ?? selection.name.value;
          descend(value[key], selection.selectionSet.selections, [...path, key]);
        }
      }
    };
    const descend = (value: unknown, selections: readonly SelectionNode[], path: (string | number)[]) => {
      if (value === null) nulls.push(path);
      else if (Array.isArray(value)) value.forEach((item, index) => descend(item, selections, [...path, index]));
      else if (value && typeof value === 'object') walk(selections, value as Record<string, unknown>, path);
    };
    if (target) descend(result.data ?? null, operationContext.operation.selectionSet.selections, []);
    const labelled = clientLabel !== undefined ? { label: clientLabel } : {};
    // The errors (and extensions) of a part go out once, with its first payload.
    const once = {
      ...(result.errors?.length ? { errors: result.errors } : {}),
      ...(result.extensions ? { extensions: result.extensions } : {}),
    };
    const [first, ...rest] = found;
    if (!first) return result.errors?.length ? [{ data: null, path: nulls[0] ?? [], ...labelled, ...once }] : [];
    return [{ ...first, ...labelled, ...once }, ...rest.map((payload) => ({ ...payload, ...labelled }))];
  }
}

/**
 * Deferred payloads in the order they complete: a client reads them as one stream of results, each with whatever is
 * ready and whether more will follow.
 */
class DeferredQueue {
  private pending = 0;
  private ready: DeferredPayload[] = [];
  private wake: (() => void) | undefined;

  /** `count` more parts will be delivered. */
  expect(count: number): void {
    this.pending += count;
  }

  /** One part is done, with its payloads (none when its fragment applied to no object). */
  deliver(payloads: DeferredPayload[]): void {
    this.pending -= 1;
    this.ready.push(...payloads);
    this.wake?.();
  }

  async *results(): AsyncGenerator<SubsequentResult> {
    for (;;) {
      while (this.ready.length === 0 && this.pending > 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      const incremental = this.ready.splice(0);
      const hasNext = this.pending > 0;
      yield incremental.length ? { incremental, hasNext } : { hasNext };
      if (!hasNext) return;
    }
  }
}

/** Whether a selection is a fragment deferred with `@defer` (after `resolveDefers`, every such one is active). */
function isDeferred(selection: SelectionNode): selection is InlineFragmentNode {
  return (
    selection.kind === Kind.INLINE_FRAGMENT &&
    selection.directives?.some((directive) => directive.name.value === 'defer') === true
  );
}

/** The planning label `resolveDefers` gave a deferred fragment. */
function planningLabel(fragment: InlineFragmentNode): string | undefined {
  const argument = fragment.directives
    ?.find((directive) => directive.name.value === 'defer')
    ?.arguments?.find((arg) => arg.name.value === 'label');
  return argument?.value.kind === Kind.STRING ? argument.value.value : undefined;
}

/**
 * Selections an operation may hold once its named fragments are inlined to be split into parts. Inlining copies a
 * fragment wherever it is spread, so a few fragments that spread each other many times would grow without bound;
 * the deepest real screens hold a few hundred.
 */
export const MAX_INLINED_SELECTIONS = 5_000;

/**
 * The operation with its named fragments inlined and each `@defer` resolved with the request's variables: one whose
 * `if` is false is dropped (its fragment executes inline), an active one gets a label of ours, unique in the operation
 * (the planner labels deferred parts with it; the client's own label, or none, is kept in `labels`). Null when the
 * inlined operation would hold more than MAX_INLINED_SELECTIONS selections.
 */
export function resolveDefers(
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): { operation: OperationDefinitionNode; labels: Map<string, string | undefined> } | null {
  const labels = new Map<string, string | undefined>();
  let selections = 0;
  /** Thrown, and caught below, as soon as the inlined operation holds too many selections. */
  const tooLarge = Symbol('too large');
  const directivesOf = (node: InlineFragmentNode | FragmentSpreadNode): DirectiveNode[] | undefined => {
    const defer = getDirectiveValues(DEFER_DIRECTIVE, node, variables);
    if (!defer) return node.directives && [...node.directives];
    const others = node.directives?.filter((directive) => directive.name.value !== 'defer') ?? [];
    if (defer.if === false) return others;
    const label = `d${labels.size}`;
    labels.set(label, defer.label as string | undefined);
    const argument = { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'label' } } as const;
    return [
      ...others,
      {
        kind: Kind.DIRECTIVE,
        name: { kind: Kind.NAME, value: 'defer' },
        arguments: [{ ...argument, value: { kind: Kind.STRING, value: label } }],
      },
    ];
  };
  const selectionSet = (set: SelectionSetNode): SelectionSetNode => ({
    ...set,
    selections: set.selections.map((selection): SelectionNode => {
      selections += 1;
      if (selections > MAX_INLINED_SELECTIONS) throw tooLarge;
      switch (selection.kind) {
        case Kind.FIELD:
          return selection.selectionSet
            ? { ...selection, selectionSet: selectionSet(selection.selectionSet) }
            : selection;
        case Kind.INLINE_FRAGMENT:
          return {
            ...selection,
            directives: directivesOf(selection),
            selectionSet: selectionSet(selection.selectionSet),
          };
        case Kind.FRAGMENT_SPREAD: {
          // Validation has checked that the fragment exists and that fragments do not cycle.
          const fragment = fragments[selection.name.value]!;
          return {
            kind: Kind.INLINE_FRAGMENT,
            typeCondition: fragment.typeCondition,
            directives: directivesOf(selection),
            selectionSet: selectionSet(fragment.selectionSet),
          };
        }
      }
    }),
  });
  try {
    return { operation: { ...operation, selectionSet: selectionSet(operation.selectionSet) }, labels };
  } catch (error) {
    if (error === tooLarge) return null;
    throw error;
  }
}

/** The selections of the primary part: everything but the deferred fragments. */
function withoutDeferred(set: SelectionSetNode): SelectionSetNode {
  return {
    ...set,
    selections: set.selections
      .filter((selection) => !isDeferred(selection))
      .map((selection) =>
        selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet
          ? { ...selection, selectionSet: withoutDeferred(selection.selectionSet) }
          : selection,
      ),
  };
}

/**
 * The selections of the deferred fragment `label`'s part: the path to it (the fields and fragments around it, with
 * their arguments and conditions), and the fragment's own selections without its nested deferred fragments. The
 * fragment, no longer deferred, is left in `found.target`.
 */
function routeTo(
  set: SelectionSetNode,
  label: string,
  found: { target?: InlineFragmentNode },
): SelectionSetNode | undefined {
  const selections = set.selections.flatMap((selection): SelectionNode[] => {
    if (selection.kind === Kind.FRAGMENT_SPREAD || !selection.selectionSet) return [];
    if (selection.kind === Kind.FIELD) {
      const inner = routeTo(selection.selectionSet, label, found);
      return inner ? [{ ...selection, selectionSet: inner }] : [];
    }
    const directives = selection.directives?.filter((directive) => directive.name.value !== 'defer');
    if (isDeferred(selection) && planningLabel(selection) === label) {
      found.target = { ...selection, directives, selectionSet: withoutDeferred(selection.selectionSet) };
      return [found.target];
    }
    const inner = routeTo(selection.selectionSet, label, found);
    return inner ? [{ ...selection, directives, selectionSet: inner }] : [];
  });
  return selections.length > 0 ? { ...set, selections } : undefined;
}
