import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ConnectionStore } from "./connection-store";
import {
  ENV,
  historyRetentionSeconds,
  messageRateLimit,
  pageSize,
  requireEnv,
} from "./environment";
import { HistoryStore } from "./history-store";
import { SendLedger } from "./sends";
import { describeError, logError } from "./log";
import { ConnectionPoster, createConnectionPoster } from "./connection-poster";
import { DEFAULT_MESSAGE_ROUTE, DEFAULT_ROUTE_SELECTION_EXPRESSION } from "../routes";
import { MessageShape } from "./message";
import { isRateLimited, MessageRateLimiter } from "./rate-limit";

/**
 * The per-container services: what the handlers share, built once per Lambda container from
 * its environment (the store, the rate limiter, the histories, the connection poster). Each
 * getter builds its service on first use, so a handler only needs the variables it uses.
 */

// Posts in flight at once during a broadcast (and keep-alive sockets). One Lambda vCPU signs and
// sends about 2,000-3,500 posts/s (bench/, docs/scaling.md); keeping that rate up across a
// 20-40 ms HTTPS round trip takes 40-140 posts in flight. Locally, at 10 ms, 64 to 256 measure
// alike; 128 leaves room for AWS's longer round trip without a socket per recipient.
export const BROADCAST_CONCURRENCY = 128;

// The SDK's default waits up to 300 s on a silent socket, past any Lambda's timeout. Here each
// attempt gives up after DYNAMODB_ATTEMPT_TIMEOUT_MS (single-item calls take milliseconds, a
// 1 MB Query page well under a second), there are at most 3 attempts (the SDK's standard mode),
// and each call stops, retries included, at the invocation's deadline (ConnectionStore).
const DYNAMODB_ATTEMPT_TIMEOUT_MS = 3_000;
const DYNAMODB_CONNECT_TIMEOUT_MS = 1_000;
const DYNAMODB_MAX_ATTEMPTS = 3;

// One client (and so one pool of keep-alive sockets) for every table a container uses.
let dynamo: DynamoDBClient | undefined;
function dynamoDb(): DynamoDBClient {
  dynamo ??= new DynamoDBClient({
    maxAttempts: DYNAMODB_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: DYNAMODB_CONNECT_TIMEOUT_MS,
      requestTimeout: DYNAMODB_ATTEMPT_TIMEOUT_MS,
      // Without it, the SDK only logs a warning when an attempt passes requestTimeout.
      throwOnRequestTimeout: true,
    },
  });
  return dynamo;
}

let store: ConnectionStore | undefined;
export function connectionStore(): ConnectionStore {
  store ??= new ConnectionStore(dynamoDb(), requireEnv(ENV.tableName), {
    pageSize: pageSize(),
  });
  return store;
}

let limiter: MessageRateLimiter | null | undefined;
/** The per-connection message rate limiter; undefined when the function was given no limit. */
export function messageRateLimiter(): MessageRateLimiter | undefined {
  if (limiter === undefined) {
    const limit = messageRateLimit();
    limiter = isRateLimited(limit)
      ? new MessageRateLimiter(dynamoDb(), requireEnv(ENV.tableName), limit)
      : null;
  }
  return limiter ?? undefined;
}

let history: HistoryStore | undefined | null;
/**
 * The rooms' sequences and histories (with a retention of 0, the sequences only); undefined
 * when the function was given no history table.
 */
export function historyStore(): HistoryStore | undefined {
  if (history === undefined) {
    const tableName = process.env[ENV.historyTableName];
    history = tableName
      ? new HistoryStore(dynamoDb(), tableName, historyRetentionSeconds(), pageSize())
      : null;
  }
  return history ?? undefined;
}

let ledger: SendLedger | undefined | null;
/**
 * The senders' idempotency records; undefined when no history is kept, as they are kept no
 * longer than the history.
 */
export function sendLedger(): SendLedger | undefined {
  if (ledger === undefined) {
    const store = historyStore();
    ledger = store?.keepsMessages
      ? new SendLedger(dynamoDb(), requireEnv(ENV.historyTableName), store)
      : null;
  }
  return ledger ?? undefined;
}

let poster: ConnectionPoster | undefined;
export function connectionPoster(): ConnectionPoster {
  poster ??= createConnectionPoster(requireEnv(ENV.managementEndpoint), BROADCAST_CONCURRENCY);
  return poster;
}

export function messageShape(): MessageShape {
  return {
    routeSelectionExpression:
      process.env[ENV.routeSelectionExpression] || DEFAULT_ROUTE_SELECTION_EXPRESSION,
    messageRoute: process.env[ENV.messageRoute] || DEFAULT_MESSAGE_ROUTE,
  };
}

/**
 * Sends `text` to one connection only, giving up at `deadline` (the invocation's). A failure is
 * logged: the sender may already be gone. A 410 deletes nothing here: the next broadcast
 * cleans up, with the same care for connections that are still connecting.
 */
export async function replyTo(
  connectionId: string,
  text: string,
  deadline?: number,
): Promise<void> {
  try {
    await connectionPoster().post(connectionId, Buffer.from(text), deadline);
  } catch (err) {
    logError("reply_failed", { connectionId, ...describeError(err) });
  }
}
