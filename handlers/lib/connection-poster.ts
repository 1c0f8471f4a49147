import {
  ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
} from "@aws-sdk/client-apigatewaymanagementapi";
import * as http from "http";
import * as https from "https";
import { ConnectionPostSigner } from "./sigv4";

/** Sends one message to one connection; throws the @connections API's typed errors. */
export interface ConnectionPoster {
  /**
   * Posts `data` to `connectionId`, over by `deadline` (epoch ms: the invocation's, see
   * `invocationDeadline`): each attempt waits at most the time left, and no retry starts that
   * could not finish in time. Throws the last error; `DeadlineExceeded` when no time was left
   * to try at all.
   *
   * At most once when in doubt: a retry is made only when the post surely was not delivered
   * (throttled, a server fault, a request that never fully left, a keep-alive socket the server
   * had closed). A post sent and not answered in time may have reached the client, so it is
   * not sent again: a lost message shows as a failure in the logs, a duplicate nowhere.
   */
  post(connectionId: string, data: Uint8Array, deadline?: number): Promise<void>;
  /**
   * How many posts it is worth having in flight now, where the poster knows better than its
   * caller's fixed concurrency (the round trip it measures, the throttling it meets).
   */
  inFlightLimit?(): number;
}

export interface PostPolicy {
  /** Attempts per post, the first one included. */
  maxAttempts: number;
  /** Backoff before retry n is a random delay in [0, min(maxDelayMs, baseDelayMs * 2^n)) ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** An attempt not answered in this long (or by the deadline, if sooner) is abandoned. */
  requestTimeoutMs: number;
  /** A retry is made only if at least this long is left for it before the deadline. */
  minAttemptMs: number;
}

// Full jitter spreads the retries of a throttled broadcast instead of sending them back in a
// burst (AWS Architecture Blog, "Exponential Backoff And Jitter"); the SDK's standard retry
// mode also makes 3 attempts. A post answers in 20-40 ms within a region (docs/scaling.md):
// a retry with less than 250 ms left would most likely be cut off.
export const DEFAULT_POST_POLICY: PostPolicy = {
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  requestTimeoutMs: 10_000,
  minAttemptMs: 250,
};

// Keyed by the response's error name: a Map, so that no name reaches an inherited member.
const TYPED_EXCEPTIONS = new Map<
  string,
  new (options: ExceptionOptions) => ApiGatewayManagementApiServiceException
>([
  ["GoneException", GoneException],
  ["ForbiddenException", ForbiddenException],
  ["LimitExceededException", LimitExceededException],
  ["PayloadTooLargeException", PayloadTooLargeException],
]);

interface ExceptionOptions {
  message: string;
  $metadata: { httpStatusCode: number; requestId?: string; attempts?: number };
}

// The container's keep-alive pools, one per endpoint and size, kept for its whole life: the
// next invocation of a warm container posts on the sockets the last one opened, with no new
// TLS handshake (each costs the client far more CPU than a post). When the server has closed
// them meanwhile, the https agent's TLS session cache makes the new handshakes resumptions.
const agents = new Map<string, http.Agent>();

function keepAliveAgent(url: URL, maxSockets: number): http.Agent {
  const key = `${url.origin} ${maxSockets}`;
  let agent = agents.get(key);
  if (!agent) {
    const transport = url.protocol === "https:" ? https : http;
    // A broadcast has at most `maxSockets` posts in flight, so it never opens more sockets than
    // it uses at once; all of them stay open for the next one.
    agent = new transport.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    agents.set(key, agent);
  }
  return agent;
}

/** One attempt at one post, as a transport makes it: resolves on a 2xx answer. */
export interface AttemptRequest {
  /** The request path and signed headers (`ConnectionPostSigner.sign`). */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** This attempt's number, the first being 1: reported in errors' `$metadata.attempts`. */
  attempts: number;
  /** The whole attempt, answer included, is abandoned after this long (`TimeoutError`). */
  timeoutMs: number;
}

/**
 * Sends one attempt. Rejects with `serviceError()` for an error answer, and otherwise with the
 * transport's error, marked `notDelivered: true` only when the request surely never reached the
 * server (and `staleSocket: true` when that was a keep-alive socket the server had closed).
 */
export type SendAttempt = (request: AttemptRequest) => Promise<void>;

/**
 * A poster for the @connections API at `endpoint` (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
 *
 * Each POST is signed with SigV4 (see `ConnectionPostSigner`) using the SDK's region and default
 * credential chain (in Lambda, the role's session credentials, cached and refreshed by the SDK
 * before they expire), and sent on the container's keep-alive sockets for this endpoint, at
 * most `maxSockets` of them, with `node:https`: the light transport, for functions that post a
 * reply or a few notices (handlers/lib/pool-poster.ts has the broadcast's).
 * Going through `client.send()` instead costs several times the CPU per post (measured by
 * `npm run bench`); errors are the same exception classes the SDK throws, chosen by the
 * `x-amzn-ErrorType` header as the SDK does.
 */
export function createConnectionPoster(
  endpoint: string,
  maxSockets: number,
  policy: PostPolicy = DEFAULT_POST_POLICY,
): ConnectionPoster {
  const url = new URL(endpoint);
  return signedPoster(url, httpsSender(url, maxSockets), policy);
}

/**
 * A poster that signs each post for `url` and sends it with `send`, retrying as `policy` says
 * (see `ConnectionPoster.post`).
 */
export function signedPoster(
  url: URL,
  send: SendAttempt,
  policy: PostPolicy = DEFAULT_POST_POLICY,
): ConnectionPoster {
  // The Host header: the URL's host leaves the scheme's default port out, as the SDK does.
  const { host } = url;
  // The client is never sent a command: it resolves the SDK's region and credential chain
  // exactly as `client.send()` would.
  const client = new ApiGatewayManagementApiClient({ endpoint: url.href });
  let region: Promise<string> | undefined;
  // A broadcast posts one body to everyone: one signer per body, shared by every recipient. It
  // is kept as soon as it is asked for, so that the posts a broadcast starts at once (up to its
  // concurrency, before any signer exists) share it too instead of each hashing the body anew.
  const signers = new WeakMap<Uint8Array, Promise<ConnectionPostSigner>>();

  function signerFor(data: Uint8Array): Promise<ConnectionPostSigner> {
    let signer = signers.get(data);
    if (!signer) {
      region ??= client.config.region().catch((err: unknown) => {
        region = undefined; // try again on the next post
        throw err;
      });
      signer = region.then((name) => new ConnectionPostSigner(url.pathname, host, name, data));
      signer.catch(() => signers.delete(data)); // the next post tries again
      signers.set(data, signer);
    }
    return signer;
  }

  async function attempt(
    connectionId: string,
    body: Uint8Array,
    attempts: number,
    timeoutMs: number,
  ): Promise<void> {
    const signer = await signerFor(body);
    const { path, headers } = signer.sign(connectionId, await client.config.credentials());
    return send({ path, headers, body, attempts, timeoutMs });
  }

  return {
    async post(connectionId, data, deadline = Number.POSITIVE_INFINITY) {
      for (let attempts = 1; ; attempts++) {
        const timeLeft = deadline - Date.now();
        if (timeLeft <= 0) throw deadlineExceeded();
        try {
          return await attempt(
            connectionId,
            data,
            attempts,
            Math.min(policy.requestTimeoutMs, timeLeft),
          );
        } catch (err) {
          const delay = retryDelay(err, attempts, policy);
          if (delay === undefined || Date.now() + delay + policy.minAttemptMs > deadline) throw err;
          if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    },
  };
}

/** Attempts sent with `node:https` on the container's keep-alive agent for `url`. */
function httpsSender(url: URL, maxSockets: number): SendAttempt {
  const secure = url.protocol === "https:";
  const transport = secure ? https : http;
  const agent = keepAliveAgent(url, maxSockets);
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  return ({ path, headers, body, attempts, timeoutMs }) =>
    new Promise<void>((resolve, reject) => {
      const req = transport.request(
        { agent, method: "POST", hostname: url.hostname, port, path, headers },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            res.resume();
            res.once("end", settle(resolve));
            res.once("error", settle(reject));
            return;
          }
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.once("error", settle(reject));
          res.once("end", () =>
            settle(reject)(
              serviceError(
                status,
                (name) => headerValue(res.headers[name]),
                Buffer.concat(chunks).toString(),
                attempts,
              ),
            ),
          );
        },
      );
      // The whole attempt, answer included; not the socket's idle time.
      const timer = setTimeout(() => req.destroy(attemptTimeout(timeoutMs)), timeoutMs);
      function settle<T extends unknown[]>(done: (...args: T) => void): (...args: T) => void {
        return (...args) => {
          clearTimeout(timer);
          done(...args);
        };
      }
      let handedOff = false; // the whole request went to the OS, so the server may act on it
      req.once("finish", () => (handedOff = true));
      req.once("error", (err: NodeJS.ErrnoException) => {
        // A keep-alive socket the server closed just as we reused it: the post never arrived
        // (Node's documented retry case for \`request.reusedSocket\`).
        const staleSocket = req.reusedSocket && err.code === "ECONNRESET";
        settle(reject)(
          Object.assign(err, {
            notDelivered: staleSocket || !handedOff,
            staleSocket,
            $metadata: { attempts },
          }),
        );
      });
      req.end(body);
    });
}

/** The error of an attempt abandoned after `timeoutMs` without a whole answer. */
export function attemptTimeout(timeoutMs: number): Error {
  return Object.assign(new Error(`No answer from the @connections API in ${timeoutMs} ms`), {
    name: "TimeoutError",
  });
}

function deadlineExceeded(): Error {
  return Object.assign(new Error("No time left before the invocation's deadline: not posted"), {
    name: "DeadlineExceeded",
  });
}

/** The wait before the next attempt, or undefined when the error must not be retried. */
function retryDelay(err: unknown, attempt: number, policy: PostPolicy): number | undefined {
  if (attempt >= policy.maxAttempts || !(err instanceof Error)) return undefined;
  if (!surelyNotDelivered(err)) return undefined;
  // A stale socket says nothing about the server's load: retry at once, on a fresh one.
  if ((err as { staleSocket?: boolean }).staleSocket) return 0;
  return Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
}

// The answers after which the SDK's standard retry strategy tries again: throttling and
// server faults. The service answered, and an error answer means it did not deliver.
const RETRIED_STATUS = new Set([429, 500, 502, 503, 504]);

/** True when `err` proves the post did not reach the client, so that a retry cannot duplicate it. */
function surelyNotDelivered(err: Error): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) return RETRIED_STATUS.has(status);
  // No answer: only a request that never fully left, or met a stale keep-alive socket.
  return (err as { notDelivered?: boolean }).notDelivered === true;
}

/**
 * The exception the SDK would throw for this error response; `header` looks a response header
 * up by its lower-case name.
 */
export function serviceError(
  status: number,
  header: (name: string) => string | undefined,
  body: string,
  attempts: number,
): ApiGatewayManagementApiServiceException {
  const parsed = parseJsonObject(body);
  const name = errorName(header("x-amzn-errortype"), parsed) ?? "Unknown";
  const options: ExceptionOptions = {
    message: stringField(parsed, "message") ?? stringField(parsed, "Message") ?? `HTTP ${status}`,
    $metadata: {
      httpStatusCode: status,
      requestId: header("x-amzn-requestid"),
      attempts,
    },
  };
  const Typed = TYPED_EXCEPTIONS.get(name);
  if (Typed) return new Typed(options);
  return new ApiGatewayManagementApiServiceException({
    name,
    $fault: status >= 500 ? "server" : "client",
    ...options,
  });
}

// As the SDK's REST-JSON protocol reads it: `Name:extra` or `namespace#Name`, header first.
function errorName(
  header: string | undefined,
  body: Record<string, unknown> | undefined,
): string | undefined {
  const raw = header ?? stringField(body, "code") ?? stringField(body, "__type");
  if (!raw) return undefined;
  const name = raw.split(":")[0];
  return name.includes("#") ? name.split("#")[1] : name;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function stringField(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === "string" ? value : undefined;
}
