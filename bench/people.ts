/** The bench's cast: the demo people, and as many fresh accounts as the scenarios need, signed up through the gateway. */
import { DEMO_PASSWORD } from '@igt/common';
import { LOGIN, SEND_DM, SIGN_UP } from '../test/support/documents.js';
import { send, type Request } from './measure.js';

/** Someone signed in: their Instagram user id and bearer token. */
export interface Person {
  id: string;
  token: string;
}

/** Signs a demo person in. */
export const login = async (gatewayUrl: string, username: string): Promise<string> =>
  (await send('login', { url: gatewayUrl, body: { query: LOGIN, variables: { username, password: DEMO_PASSWORD } } }))
    .login.token as string;

/** Sign-ups in flight at once: each hashes a password with scrypt (32 MiB, tens of ms), on libuv's four threads. */
const SIGN_UP_CONCURRENCY = 4;

/** Signs up `count` new people named `<prefix><n>`, a few at a time. */
export async function signUpMany(gatewayUrl: string, prefix: string, count: number): Promise<Person[]> {
  const people: Person[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: SIGN_UP_CONCURRENCY }, async () => {
      for (let n = next++; n < count; n = next++) {
        const body = {
          query: SIGN_UP,
          variables: { username: `${prefix}${n}`, password: DEMO_PASSWORD, fullName: `Bench ${n}` },
        };
        const { signUp } = await send('signUp', { url: gatewayUrl, body });
        people[n] = { id: signUp.user.id as string, token: signUp.token as string };
      }
    }),
  );
  return people;
}

/** The authorization header for a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A DM from `sender` to `recipient` through the gateway at `url`. */
export const dm = (url: string, sender: Person, recipient: Person, text: string): Request => ({
  url,
  body: { query: SEND_DM, variables: { input: { recipientId: recipient.id, text } } },
  headers: bearer(sender.token),
});
