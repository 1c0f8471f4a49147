import { randomBytes } from "crypto";

/**
 * Message ids in the ULID layout: 10 characters of time (milliseconds since the epoch) then 16
 * of randomness, in Crockford's base32. Ids sort by the time they carry, so the history table
 * keeps them as its sort key and reads the newest with one Query; 80 random bits keep two ids
 * of the same millisecond, from two Lambdas, apart.
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_LENGTH = 10;
const RANDOM_BYTES = 10; // 80 bits: 16 characters

/** A new id for a message sent at `timeMs`. */
export function messageId(timeMs: number, random: Uint8Array = randomBytes(RANDOM_BYTES)): string {
  let bits = 0;
  let value = 0;
  let tail = "";
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      tail += ALPHABET[(value >> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  return timePrefix(timeMs) + tail;
}

/**
 * The time part of every id made at `timeMs`: each id of that millisecond or later sorts after
 * it, each earlier one before it.
 */
export function timePrefix(timeMs: number): string {
  let time = Math.max(0, Math.floor(timeMs));
  let prefix = "";
  for (let i = 0; i < TIME_LENGTH; i++) {
    prefix = ALPHABET[time % 32] + prefix;
    time = Math.floor(time / 32);
  }
  return prefix;
}
