import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ConnectionStore } from "./connection-store";
import { ENV, requireEnv } from "./config";
import { describeError, logError } from "./log";
import { ConnectionPoster, managementPoster } from "./management";
import { DEFAULT_MESSAGE_SHAPE, MessageShape } from "./message";

/**
 * What the handlers share, built once per Lambda container from its environment. Each getter
 * builds its client on first use, so a handler only needs the variables it actually uses.
 */

// Posts in flight at once during a broadcast. Latency hides behind concurrency; more than
// this buys little on one Lambda vCPU (see bench/ and docs/scaling.md).
export const BROADCAST_CONCURRENCY = 64;

let store: ConnectionStore | undefined;
export function connectionStore(): ConnectionStore {
  if (!store) {
    const pageSize = process.env.SCAN_PAGE_SIZE ? Number(process.env.SCAN_PAGE_SIZE) : undefined;
    store = new ConnectionStore(new DynamoDBClient({}), requireEnv(ENV.tableName), { scanPageSize: pageSize });
  }
  return store;
}

let poster: ConnectionPoster | undefined;
export function connectionPoster(): ConnectionPoster {
  poster ??= managementPoster(requireEnv(ENV.managementEndpoint), BROADCAST_CONCURRENCY);
  return poster;
}

export function messageShape(): MessageShape {
  return {
    routeSelectionExpression:
      process.env[ENV.routeSelectionExpression] || DEFAULT_MESSAGE_SHAPE.routeSelectionExpression,
    messageRoute: process.env[ENV.messageRoute] || DEFAULT_MESSAGE_SHAPE.messageRoute,
  };
}

/** Sends `text` to one connection only. A failure is logged: the sender may already be gone. */
export async function replyTo(connectionId: string, text: string): Promise<void> {
  try {
    await connectionPoster().post(connectionId, Buffer.from(text));
  } catch (err) {
    logError("reply_failed", { connectionId, ...describeError(err) });
  }
}
