/** Abuse limits on sending direct messages: per sender account and per client address. */
import { addressKey, type RateLimit, type RateLimitStore } from '@igt/common';

/** How many direct messages one account, or one client address, may send; each one's default is in SEND_LIMITS. */
export interface SendLimits {
  /** Messages one account sends, to anyone. */
  perAccount: RateLimit;
  /** Messages sent from one address, whatever the accounts: many accounts on one address share it. */
  perAddress: RateLimit;
}

/** The defaults: what `npm start`, the service and docker-compose use unless told otherwise. */
export const SEND_LIMITS: SendLimits = {
  perAccount: { points: 30, durationSeconds: 60 },
  perAddress: { points: 60, durationSeconds: 60 },
};

/** The rule `sendDirectMessage` asks before sending. */
export interface SendThrottle {
  /** Counts one send by `senderId` from `clientAddress`; refuses with TOO_MANY_ATTEMPTS past either limit. */
  admit(senderId: number, clientAddress: string | null): Promise<void>;
}

/** Builds the send throttle on `store` (Redis or memory). */
export function createSendThrottle(store: RateLimitStore, limits: Partial<SendLimits> = {}): SendThrottle {
  const { perAccount, perAddress } = { ...SEND_LIMITS, ...limits };
  const fromAddress = store.limiter('dm:address', perAddress, 'Too many messages from your network');
  const byAccount = store.limiter('dm:account', perAccount, 'You are sending messages too fast');
  return {
    async admit(senderId, clientAddress) {
      // Both counts at once (one round trip to Redis). A send refused for its address does not count against the
      // account, as if the address had been asked first; one refused for the account still counts for the address.
      const account = String(senderId);
      const [address, own] = await Promise.allSettled([
        fromAddress.consume(addressKey(clientAddress)),
        byAccount.consume(account),
      ]);
      if (address.status === 'rejected') {
        // The account's count went up even if it refused too.
        await byAccount.refund(account);
        throw address.reason;
      }
      if (own.status === 'rejected') throw own.reason;
    },
  };
}
