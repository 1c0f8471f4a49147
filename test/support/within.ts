/**
 * How long a test waits for what should follow at once: a frame, an event, a close, a log line.
 * Generous for a loaded machine, and far below mocha's timeout, so a hang fails with a name.
 */
export const PROMPTLY_MS = 5_000;

/**
 * How long a test waits for a process to start or stop: `ts-node` compiling, esbuild bundling,
 * dynalite and the Lambda workers starting.
 */
export const STARTUP_MS = 20_000;

/**
 * `promise`, or a rejection `timed out after <ms> ms waiting for <what>` if it has not settled
 * by then. Name `what` as the failure should read: "the $disconnect event", "bob's copy".
 */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}

// How often `eventually` checks its condition.
const CHECK_EVERY_MS = 5;

/**
 * Waits until `condition()` gives something truthy (checked every few milliseconds) and resolves
 * with it, or rejects `timed out after <ms> ms waiting for <what>` and stops checking. Name
 * `what` as the failure should read: "only the bystanders to be left connected".
 */
export async function eventually<T>(
  what: string,
  condition: () => T | Promise<T>,
  ms: number = PROMPTLY_MS,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
  }
}
