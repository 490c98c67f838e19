// Typing indicators: who may send one, who receives it, and each subscriber's own expiry of them. Never stored.
import type { Logger, Metrics, PubSub, RateLimit, RateLimitStore } from '@igt/common';
import { viewersCurrentConversation } from './access.js';
import type { Context } from './context.js';
import type { Loaders } from './loaders.js';
import type { ConversationModel, TypingIndicatorModel } from './models.js';

/** The pub/sub channel that carries the typing indicators meant for one person. */
export const typingChannel = (userId: number) => `typing:${userId}`;

/** A typing indicator as it travels over pub/sub (JSON has no dates). */
export interface WireTypingIndicator {
  conversationId: number;
  userId: number;
  typing: boolean;
  /** ISO 8601 when `typing` is true; null when it is false. */
  expiresAt: string | null;
}

const isId = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

/** Whether a payload heard on a typing channel is an indicator (and not something malformed). */
export function isWireTypingIndicator(payload: unknown): payload is WireTypingIndicator {
  const { conversationId, userId, typing, expiresAt } = (payload ?? {}) as Partial<WireTypingIndicator>;
  if (!isId(conversationId) || !isId(userId) || typeof typing !== 'boolean') return false;
  // Only a `typing: true` indicator expires, and it always does.
  return typing ? typeof expiresAt === 'string' && !Number.isNaN(Date.parse(expiresAt)) : expiresAt === null;
}

/** How many typing indicators one account may send; the default is in TYPING_LIMITS. */
export interface TypingLimits {
  /** Indicators one account sends, to any of its conversations. */
  perAccount: RateLimit;
}

/** The defaults: a client renews an indicator every few seconds while its person types, well under this. */
export const TYPING_LIMITS: TypingLimits = {
  perAccount: { points: 20, durationSeconds: 10 },
};

/** How long a `typing: true` indicator lasts unless renewed, by default. */
export const TYPING_TTL_MS = 5_000;

/**
 * Who receives the viewer's typing indicators in `conversation`: its current members but the viewer, leaving out
 * anyone with a block either way between them and the viewer. `loaders` are the viewer's; the blocks projection must
 * already be up to date.
 */
export async function typingRecipients(
  loaders: Pick<Loaders, 'membersByConversationId' | 'blocksWithViewer'>,
  conversation: ConversationModel,
): Promise<number[]> {
  const viewerId = conversation.side.userId;
  const others = (await loaders.membersByConversationId.load(conversation.id)).filter((id) => id !== viewerId);
  const blocks = await loaders.blocksWithViewer.loadMany(others);
  return others.filter((_id, index) => {
    const between = blocks[index];
    if (between instanceof Error) throw between;
    return between !== undefined && !between.viewerBlocked && !between.blockedViewer;
  });
}

/** Passes typing indicators on, and opens the live streams behind `typingIndicators`. */
export interface TypingIndicators {
  /**
   * Tells the other members of one of the viewer's current conversations that the viewer is typing (or stopped):
   * NOT_FOUND for any other conversation, TOO_MANY_ATTEMPTS past the limit. Resolves to false when pub/sub could not
   * take it (it is best effort, never retried).
   */
  announce(context: Context, conversationId: string, typing: boolean): Promise<boolean>;
  /**
   * The indicators meant for `viewerId` from now on, each `typing: true` one followed by a `typing: false` when it
   * is not renewed before it expires.
   */
  open(viewerId: number): Promise<AsyncIterableIterator<TypingIndicatorModel>>;
  /** Ends every open stream (their clients see the subscription complete). */
  closeAll(): Promise<void>;
}

/** What typing indicators run on, and how they are limited. */
export interface TypingServices {
  pubsub: PubSub;
  logger: Logger;
  metrics: Metrics;
  /** Where the limit on sending indicators counts (Redis or memory). */
  rateLimits: RateLimitStore;
  /** Limits on sending indicators (default TYPING_LIMITS, each one separately). */
  limits?: Partial<TypingLimits>;
  /** How long a `typing: true` indicator lasts unless renewed (default TYPING_TTL_MS). */
  ttlMs?: number;
  /** Indicators held for a slow subscriber; past this the oldest are dropped (default 100). */
  maxBuffered?: number;
}

/**
 * Builds typing indicators on `pubsub`. Each stream keeps one timer per (conversation, person) typing, so it expires
 * indicators by itself: a typer whose client vanished without saying it stopped still stops typing for everyone.
 * `graphql_subscriptions_active` counts the streams that are listening.
 */
export function createTypingIndicators(services: TypingServices): TypingIndicators {
  const { pubsub, logger, metrics, rateLimits, limits = {}, ttlMs = TYPING_TTL_MS, maxBuffered = 100 } = services;
  const { perAccount } = { ...TYPING_LIMITS, ...limits };
  const byAccount = rateLimits.limiter('typing:account', perAccount, 'You are sending typing indicators too fast');
  const open = new Set<AsyncIterableIterator<TypingIndicatorModel>>();

  async function announce(context: Context, conversationId: string, typing: boolean): Promise<boolean> {
    const conversation = await viewersCurrentConversation(context, conversationId);
    const viewerId = conversation.side.userId;
    await byAccount.consume(String(viewerId));
    // A block Instagram has acknowledged counts at once, as for a send.
    await context.relationships.catchUp();
    const recipients = await typingRecipients(context.loaders, conversation);
    const indicator: WireTypingIndicator = {
      conversationId: conversation.id,
      userId: viewerId,
      typing,
      expiresAt: typing ? new Date(Date.now() + ttlMs).toISOString() : null,
    };
    const published = await Promise.allSettled(recipients.map((id) => pubsub.publish(typingChannel(id), indicator)));
    const failed = published.find((result) => result.status === 'rejected');
    if (!failed) return true;
    logger.warn({ err: failed.reason, conversationId: conversation.id }, 'could not pass a typing indicator on');
    return false;
  }

  async function openStream(viewerId: number): Promise<AsyncIterableIterator<TypingIndicatorModel>> {
    const queue: TypingIndicatorModel[] = [];
    const expiries = new Map<string, NodeJS.Timeout>();
    let wake: (() => void) | null = null;
    let closed = false;

    const push = (indicator: TypingIndicatorModel) => {
      // Best effort: a subscriber too slow to keep up loses the oldest indicators, which are stale by then anyway.
      if (queue.length >= maxBuffered) queue.shift();
      queue.push(indicator);
      wake?.();
    };
    const hear = (payload: unknown) => {
      if (closed) return;
      if (!isWireTypingIndicator(payload)) {
        logger.warn({ channel: typingChannel(viewerId) }, 'ignoring a malformed typing indicator');
        return;
      }
      const { conversationId, userId, typing } = payload;
      const key = `${conversationId}:${userId}`;
      clearTimeout(expiries.get(key));
      expiries.delete(key);
      const expiresAt = payload.expiresAt === null ? null : new Date(payload.expiresAt);
      if (expiresAt) {
        const expire = () => {
          expiries.delete(key);
          push({ conversationId, userId, typing: false, expiresAt: null });
        };
        expiries.set(key, setTimeout(expire, Math.max(0, expiresAt.getTime() - Date.now())));
      }
      push({ conversationId, userId, typing, expiresAt });
    };
    const unsubscribe = await pubsub.subscribe(typingChannel(viewerId), hear);

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        closed = true;
        for (const timer of expiries.values()) clearTimeout(timer);
        expiries.clear();
        queue.length = 0;
        wake?.();
        open.delete(stream);
        metrics.activeSubscriptions.dec();
        await unsubscribe();
      })());
    const done = (): IteratorResult<TypingIndicatorModel> => ({ done: true, value: undefined });

    // Hand-rolled rather than an async generator, which cannot be returned while it waits: a client leaving must
    // release its channel and timers at once.
    const stream: AsyncIterableIterator<TypingIndicatorModel> = {
      async next() {
        while (!closed) {
          const indicator = queue.shift();
          if (indicator) return { done: false, value: indicator };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
        return done();
      },
      async return() {
        await close();
        return done();
      },
      async throw(error?: unknown) {
        await close();
        throw error;
      },
      [Symbol.asyncIterator]: () => stream,
    };
    open.add(stream);
    metrics.activeSubscriptions.inc();
    return stream;
  }

  return {
    announce,
    open: openStream,
    async closeAll() {
      await Promise.allSettled([...open].map((stream) => stream.return?.()));
    },
  };
}
