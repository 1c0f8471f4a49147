import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ConnectionStore } from "./connection-store";
import { ENV, pageSize, requireEnv } from "./config";
import { describeError, logError } from "./log";
import { ConnectionPoster, managementPoster } from "./management";
import { DEFAULT_MESSAGE_ROUTE, DEFAULT_ROUTE_SELECTION_EXPRESSION } from "../routes";
import { MessageShape } from "./message";

/**
 * What the handlers share, built once per Lambda container from its environment. Each getter
 * builds its client on first use, so a handler only needs the variables it actually uses.
 */

// Posts in flight at once during a broadcast (and keep-alive sockets). One Lambda vCPU signs and
// sends about 2,000-3,500 posts/s (bench/, docs/scaling.md); keeping that rate up across a
// 20-40 ms HTTPS round trip takes 40-140 posts in flight. Locally, at 10 ms, 64 to 256 measure
// alike; 128 leaves room for AWS's longer round trip without a socket per recipient.
export const BROADCAST_CONCURRENCY = 128;

let store: ConnectionStore | undefined;
export function connectionStore(): ConnectionStore {
  store ??= new ConnectionStore(new DynamoDBClient({}), requireEnv(ENV.tableName), {
    pageSize: pageSize(),
  });
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
      process.env[ENV.routeSelectionExpression] || DEFAULT_ROUTE_SELECTION_EXPRESSION,
    messageRoute: process.env[ENV.messageRoute] || DEFAULT_MESSAGE_ROUTE,
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
