import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { connectionStore } from "./lib/clients";
import { connectionTtlSeconds } from "./lib/config";
import { describeError, logError } from "./lib/log";
import { respond } from "./lib/responses";

/** `$connect`: records the connection. Anything but 2xx refuses the WebSocket handshake. */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, connectedAt } = event.requestContext;
  try {
    await connectionStore().add(connectionId, connectedAt ?? Date.now(), connectionTtlSeconds());
    return respond(200, "Connected");
  } catch (err) {
    logError("connect_failed", { connectionId, ...describeError(err) });
    return respond(500, "Failed to connect");
  }
};
