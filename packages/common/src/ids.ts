/** Entity ids as the API writes them (positive integers as strings) and as the database stores them. */
import { badUserInput } from './errors.js';

/** Parses an entity id (a positive integer written as a string); anything else is BAD_USER_INPUT naming `argument`. */
export function parseId(value: string, argument: string): number {
  if (!/^[1-9]\d{0,14}$/.test(value)) {
    throw badUserInput(`\`${argument}\` is not a valid ID, got ${JSON.stringify(value.slice(0, 40))}.`, argument);
  }
  return Number(value);
}

/** Like `parseId` but for lookups: an id that cannot exist resolves to null instead of an error. */
export function tryParseId(value: string | number): number | null {
  const text = String(value);
  return /^[1-9]\d{0,14}$/.test(text) ? Number(text) : null;
}
