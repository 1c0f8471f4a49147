import type { Dispatcher } from "undici";
import Client from "undici/lib/dispatcher/client.js";
import { ENV, requireEnv } from "./environment";
import {
  attemptTimeout,
  ConnectionPoster,
  DEFAULT_POST_POLICY,
  PostPolicy,
  SendAttempt,
  serviceError,
  signedPoster,
} from "./connection-poster";

/**
 * The broadcast's @connections poster: the same signed posts, retries and errors as
 * `createConnectionPoster` (handlers/lib/connection-poster.ts), sent on a pool of undici's keep-alive
 * connections (`Client`s), which costs about a third of the CPU per post that `node:https`
 * costs (bench/, docs/scaling.md). It is imported by the message function only: undici's code
 * adds about 17 ms to a bundle's load, which the functions that post one reply do without.
 */

// API Gateway's default account quota: 10,000 requests a second per Region, shared by every
// API and @connections call of the account (docs/scaling.md, "One invocation"). Posting faster
// than the whole quota only earns 429s.
const QUOTA_PER_SECOND = 10_000;
// Posts in flight at most, and so sockets: enough for the quota at a 40 ms round trip (400)
// with room to spare; each one in flight holds a request and a socket, a few KB.
export const MAX_IN_FLIGHT = 512;
// Before any round trip is measured, and never fewer while not throttled: enough to keep one
// vCPU busy at the 1-2 ms round trips of a quiet local endpoint.
const MIN_IN_FLIGHT = 32;
// Throttled, the window may shrink below MIN_IN_FLIGHT, down to this.
const MIN_IN_FLIGHT_THROTTLED = 4;
// The window covers the quota at the shortest recent round trip, plus this much for the
// spread of round trips around it.
const HEADROOM = 1.25;
// The shortest round trip is remembered over two periods of this length: a route that got
// slower is noticed within 20 s.
const ROUND_TRIP_PERIOD_MS = 10_000;
// Sockets are kept for the container's life (a warm container's next broadcast reuses them
// without a TLS handshake), unless the server says it closes them sooner (its Keep-Alive
// header): undici then closes them just before the server would.
const SOCKET_IDLE_MS = 2 * 60 * 60 * 1000;

/**
 * How many posts to keep in flight: what the account quota allows at the shortest round trip
 * measured recently (Little's law: rate x round trip), between MIN_IN_FLIGHT and the maximum;
 * halved at each throttling answer (429, once per round trip) and grown back by one post per
 * window of answers, as TCP's congestion avoidance does. It grows by one post per answer at
 * most (TCP's slow start: doubling per round trip), so that the round trips of a cold
 * container's first posts, slowed by its own TLS handshakes, do not open hundreds of sockets
 * (each handshake costs about 2 ms of CPU) that the next round trips show were not needed.
 */
export class InFlightWindow {
  private shortest = Number.POSITIVE_INFINITY;
  private previousShortest = Number.POSITIVE_INFINITY;
  private periodEnds = Number.NEGATIVE_INFINITY;
  private throttledCap = Number.POSITIVE_INFINITY;
  private lastCut = Number.NEGATIVE_INFINITY;
  private grown = MIN_IN_FLIGHT;

  constructor(
    private readonly maximum = MAX_IN_FLIGHT,
    private readonly ratePerSecond = QUOTA_PER_SECOND,
  ) {}

  /** The posts to keep in flight now. */
  limit(): number {
    return Math.max(1, Math.floor(Math.min(this.sized(), this.grown, this.throttledCap)));
  }

  /** The shortest round trip of the last one or two periods, ms; undefined before any. */
  roundTripMs(): number | undefined {
    const shortest = Math.min(this.shortest, this.previousShortest);
    return Number.isFinite(shortest) ? shortest : undefined;
  }

  /** An answer came `roundTripMs` after its request was written (at `now`, ms). */
  answered(roundTripMs: number, throttled: boolean, now: number): void {
    if (now >= this.periodEnds) {
      this.previousShortest = this.shortest;
      this.shortest = roundTripMs;
      this.periodEnds = now + ROUND_TRIP_PERIOD_MS;
    } else if (roundTripMs < this.shortest) {
      this.shortest = roundTripMs;
    }
    if (throttled) {
      // One cut per round trip: the answers of one burst report the same overload.
      if (now - this.lastCut >= (this.roundTripMs() ?? 0)) {
        this.throttledCap = Math.max(MIN_IN_FLIGHT_THROTTLED, this.limit() / 2);
        this.lastCut = now;
      }
      return;
    }
    if (this.grown < this.maximum) this.grown++;
    if (Number.isFinite(this.throttledCap)) {
      this.throttledCap += 1 / this.throttledCap;
      if (this.throttledCap >= this.sized()) this.throttledCap = Number.POSITIVE_INFINITY;
    }
  }

  private sized(): number {
    const roundTrip = this.roundTripMs();
    if (roundTrip === undefined) return Math.min(MIN_IN_FLIGHT, this.maximum);
    const needed = Math.ceil((this.ratePerSecond * roundTrip * HEADROOM) / 1000);
    return Math.min(this.maximum, Math.max(MIN_IN_FLIGHT, needed));
  }
}

/**
 * Keep-alive connections to one origin, each an undici `Client` (one socket, one request at a
 * time): a post takes an idle one, the one that answered last first, and opens a new one only
 * when none is idle, so that there are never more sockets than posts were in flight at once.
 * undici's own `Pool` picks a connection the same way but counts one as busy until an event
 * that may come after its next request: sequential posts then opened a second socket (and a
 * broadcast, tens of TLS handshakes more per round).
 */
class Connections {
  private readonly idle: Client[] = [];
  private readonly all: Client[] = [];
  private next = 0;

  constructor(
    private readonly origin: string,
    private readonly maximum: number,
    private readonly options: Client.Options,
  ) {}

  dispatch(options: Dispatcher.DispatchOptions, attempt: PostAttempt): void {
    let client = this.idle.pop();
    if (!client && this.all.length < this.maximum) {
      client = new Client(this.origin, this.options);
      this.all.push(client);
    }
    // At the maximum, the request waits for its turn on a busy connection.
    client ??= this.all[this.next++ % this.all.length];
    const free = client;
    attempt.onRelease = () => this.idle.push(free);
    client.dispatch(options, attempt);
  }
}

// The container's connections, one set per endpoint, kept for its whole life with what they
// measured.
const pools = new Map<string, { connections: Connections; window: InFlightWindow }>();

/**
 * A poster for the @connections API at `endpoint` on undici's pool: at most `maxInFlight`
 * posts (and sockets) at once, and `inFlightLimit()` says how many are worth it now
 * (`InFlightWindow`). Errors, retries and deadlines are `createConnectionPoster`'s.
 */
export function poolPoster(
  endpoint: string,
  maxInFlight = MAX_IN_FLIGHT,
  policy: PostPolicy = DEFAULT_POST_POLICY,
): ConnectionPoster {
  const url = new URL(endpoint);
  const key = `${url.origin} ${maxInFlight}`;
  let entry = pools.get(key);
  if (!entry) {
    entry = {
      connections: new Connections(url.origin, maxInFlight, {
        pipelining: 1,
        keepAliveTimeout: SOCKET_IDLE_MS,
        keepAliveMaxTimeout: SOCKET_IDLE_MS,
      }),
      window: new InFlightWindow(maxInFlight),
    };
    pools.set(key, entry);
  }
  const { connections, window } = entry;
  const send: SendAttempt = ({ path, headers, body, attempts, timeoutMs }) =>
    new Promise<void>((resolve, reject) => {
      connections.dispatch(
        { origin: url.origin, method: "POST", path, headers, body },
        new PostAttempt(resolve, reject, attempts, timeoutMs, window),
      );
    });
  const poster = signedPoster(url, send, policy);
  return {
    post: (connectionId, data, deadline) => poster.post(connectionId, data, deadline),
    inFlightLimit: () => window.limit(),
  };
}

let broadcasts: ConnectionPoster | undefined;
/** The message route's poster for its broadcasts, built once per container from its environment. */
export function broadcastPoster(): ConnectionPoster {
  broadcasts ??= poolPoster(requireEnv(ENV.managementEndpoint));
  return broadcasts;
}

/**
 * One attempt, as undici's dispatcher drives it. undici's handler callbacks of version 7
 * (`onConnect` to `onComplete`) are used because only they report `onRequestSent`: whether the
 * request wholly left, which decides whether a failed post may be sent again.
 */
class PostAttempt implements Dispatcher.DispatchHandler {
  /** Called once undici is done with the request (once): its connection is free for another. */
  onRelease?: () => void;
  private abort?: (err?: Error) => void;
  private sent = false;
  private writtenAt = 0;
  private status = 0;
  private rawHeaders?: Buffer[];
  private chunks?: Buffer[];
  private failure?: Error;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: () => void,
    private readonly reject: (err: Error) => void,
    private readonly attempts: number,
    timeoutMs: number,
    private readonly window: InFlightWindow,
  ) {
    // The whole attempt, waiting for a socket and the answer included.
    this.timer = setTimeout(() => {
      this.fail(attemptTimeout(timeoutMs));
      this.abort?.(this.failure); // undici then reports the abort, ignored: settled already
    }, timeoutMs);
  }

  onConnect(abort: (err?: Error) => void): void {
    // Timed out while waiting for a socket: abort before anything is written.
    if (this.failure) return abort(this.failure);
    this.abort = abort;
    this.writtenAt = performance.now();
  }

  onRequestSent(): void {
    this.sent = true;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    if (status < 200) return true; // informational: the answer follows
    this.status = status;
    this.window.answered(performance.now() - this.writtenAt, status === 429, Date.now());
    if (status >= 300) {
      this.rawHeaders = rawHeaders;
      this.chunks = [];
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks?.push(chunk);
    return true;
  }

  onComplete(): void {
    this.release();
    if (this.status < 300) return this.succeed();
    const rawHeaders = this.rawHeaders ?? [];
    const header = (name: string) => {
      for (let i = 0; i < rawHeaders.length; i += 2)
        if (rawHeaders[i].toString("latin1").toLowerCase() === name)
          return rawHeaders[i + 1].toString("latin1");
      return undefined;
    };
    const body = Buffer.concat(this.chunks ?? []).toString();
    this.fail(serviceError(this.status, header, body, this.attempts));
  }

  onError(err: Error): void {
    this.release();
    this.fail(err);
  }

  private release(): void {
    const release = this.onRelease;
    this.onRelease = undefined;
    release?.();
  }

  private succeed(): void {
    if (this.failure) return;
    clearTimeout(this.timer);
    this.failure = SETTLED;
    this.resolve();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    clearTimeout(this.timer);
    const failure = "$metadata" in err ? err : annotate(err, !this.sent, this.attempts);
    this.failure = failure;
    this.reject(failure);
  }
}

// Marks an attempt as settled once it succeeded.
const SETTLED = new Error("settled");

/** A transport error, marked as `SendAttempt` says: not delivered only if it never left. */
function annotate(err: Error, notDelivered: boolean, attempts: number): Error {
  return Object.assign(err, { notDelivered, staleSocket: false, $metadata: { attempts } });
}
