import type { RoomMember } from "./connection-store";
import { ConnectionPoster } from "./connection-poster";
import { describeError, logError } from "./log";

/**
 * What one broadcast sends, built once per message rather than per recipient: raw text for
 * plain clients, a JSON frame for `chat.v1` clients. A format left out is not sent to at all
 * (join notices go to structured clients only).
 */
export interface Payloads {
  plain?: string;
  structured?: string;
}

export interface BroadcastResult {
  delivered: number;
  /** Recipients that had gone away (410); their records were deleted. */
  gone: number;
  /**
   * Recipients that answered 410 while their record was too young to trust it: most likely
   * still connecting (API Gateway answers 410 until `$connect` returns). Their records are kept.
   */
  connecting: number;
  /** Recipients whose post failed for any other reason; they were left alone. */
  failed: number;
  /** `failed`, by error name. */
  failures: Record<string, number>;
}

/** Reading the recipients failed part-way; `result` counts the posts that were made. */
export class BroadcastInterrupted extends Error {
  constructor(
    readonly result: BroadcastResult,
    readonly cause: unknown,
  ) {
    super(
      `Reading recipients failed after ${result.delivered + result.gone + result.connecting + result.failed} posts`,
    );
    this.name = "BroadcastInterrupted";
  }
}

// A broadcast where every post fails (a missing permission, sustained throttling) would
// otherwise write a log line per recipient; the rest are counted in `failures`.
const MAX_FAILURES_LOGGED = 10;

export interface BroadcastOptions {
  poster: ConnectionPoster;
  /**
   * Deletes the record of a connection that answered 410 Gone; false when it kept the record
   * because the client may still be connecting.
   */
  forget: (connectionId: string) => Promise<boolean>;
  /** Posts in flight at most; fewer while the poster's `inFlightLimit()` says so. */
  concurrency: number;
  /** Epoch ms by which every post must be over: the invocation's deadline. */
  deadline?: number;
}

/**
 * Sends each connection in `pages` its format's payload, posting while later pages are still
 * being read. Each recipient is independent: a failure is counted and logged, never thrown, so
 * one bad connection cannot stop delivery to the rest.
 */
export async function broadcast(
  pages: AsyncIterable<RoomMember[]>,
  payloads: Payloads,
  options: BroadcastOptions,
): Promise<BroadcastResult> {
  const { forget, concurrency, deadline } = options;
  const plain = payloads.plain === undefined ? undefined : Buffer.from(payloads.plain);
  const structured =
    payloads.structured === undefined ? undefined : Buffer.from(payloads.structured);
  const result = emptyResult();
  const recipients = new Recipients(pages);

  async function deliver({ connectionId, structured: wantsFrames }: RoomMember): Promise<void> {
    const data = wantsFrames ? structured : plain;
    if (data === undefined) return;
    try {
      await options.poster.post(connectionId, data, deadline);
      result.delivered++;
    } catch (err) {
      if (err instanceof Error && err.name === "GoneException") {
        const forgotten = await forget(connectionId).catch((forgetErr: unknown) => {
          logError("forget_failed", { connectionId, ...describeError(forgetErr) });
          return true; // gone all the same; the next broadcast tries again
        });
        if (forgotten) result.gone++;
        else result.connecting++;
      } else {
        const error = describeError(err);
        countFailure(result.failures, error.errorName);
        if (++result.failed <= MAX_FAILURES_LOGGED)
          logError("post_failed", { connectionId, ...error });
      }
    }
  }

  // Workers, each posting to one recipient at a time: as many as the poster finds worth it
  // (`inFlightLimit`, from the round trip it measures), never more than `concurrency`. A worker
  // past the limit stops after its post; one is added after each post while under it.
  const { poster } = options;
  const limit = poster.inFlightLimit
    ? () => Math.min(concurrency, poster.inFlightLimit!())
    : () => concurrency;
  let active = 0;
  let failure: { reason: unknown } | undefined;
  const workers: Promise<void>[] = [];

  function addWorkers(): void {
    while (active < limit() && !recipients.exhausted) {
      active++;
      workers.push(
        worker().then(
          () => {},
          (reason: unknown) => void (failure ??= { reason }),
        ),
      );
    }
  }

  async function worker(): Promise<void> {
    try {
      for (let member = recipients.take() ?? (await recipients.next()); member;) {
        await deliver(member);
        if (active > limit()) return;
        addWorkers();
        member = recipients.take() ?? (await recipients.next());
      }
    } finally {
      active--;
    }
  }

  // When reading fails, the other workers finish the posts they have started before this returns:
  // a Lambda is frozen as soon as its handler answers. Workers added meanwhile are waited for too.
  addWorkers();
  for (let i = 0; i < workers.length; i++) await workers[i];
  if (failure) throw new BroadcastInterrupted(result, failure.reason);
  return result;
}

/** A result with nothing counted yet. */
export function emptyResult(): BroadcastResult {
  return { delivered: 0, gone: 0, connecting: 0, failed: 0, failures: {} };
}

// Error names come from responses: an own-property count, whatever the name ("constructor"...).
function countFailure(failures: Record<string, number>, errorName: string): void {
  const count = Object.hasOwn(failures, errorName) ? failures[errorName] : 0;
  Object.defineProperty(failures, errorName, {
    value: count + 1,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * The members of `pages`, handed to the workers one at a time. A worker takes the next one
 * synchronously while the current page lasts, and only waits (all waiting workers on the same
 * read) when a new page is needed: an async generator would cost every recipient a few promise
 * turns instead.
 */
class Recipients {
  private readonly pages: AsyncIterator<RoomMember[]>;
  private page: RoomMember[] = [];
  private index = 0;
  private reading?: Promise<void>;
  private done = false;

  /** True once every member has been handed out. */
  get exhausted(): boolean {
    return this.done && this.index >= this.page.length;
  }

  constructor(pages: AsyncIterable<RoomMember[]>) {
    this.pages = pages[Symbol.asyncIterator]();
  }

  /** The next member of the current page, or undefined when it is used up. */
  take(): RoomMember | undefined {
    return this.index < this.page.length ? this.page[this.index++] : undefined;
  }

  /** The next member, reading pages as needed; undefined when there are no more. */
  async next(): Promise<RoomMember | undefined> {
    for (let member = this.take(); !this.done; member = this.take()) {
      if (member) return member;
      this.reading ??= this.pages.next().then(
        (read) => {
          this.reading = undefined;
          if (read.done) this.done = true;
          else [this.page, this.index] = [read.value, 0];
        },
        (err: unknown) => {
          this.reading = undefined;
          this.done = true;
          throw err;
        },
      );
      await this.reading;
    }
    return undefined;
  }
}
