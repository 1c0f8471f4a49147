import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { broadcast, BroadcastInterrupted, retryDeadline } from "./lib/broadcast";
import {
  BROADCAST_CONCURRENCY,
  connectionPoster,
  connectionStore,
  messageShape,
  replyTo,
} from "./lib/clients";
import { describeError, logError, logInfo } from "./lib/log";
import { errorReply, parseMessage } from "./lib/message";
import { respond } from "./lib/responses";

/** The message route: sends the message's `data` to every live connection, the sender too. */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId } = event.requestContext;
  const message = parseMessage(event.body);
  if (!message.ok) {
    await replyTo(connectionId, errorReply("BadRequest", message.reason, messageShape()));
    return respond(400, message.reason);
  }

  const store = connectionStore();
  const started = Date.now();
  try {
    const result = await broadcast(store.livePages(), message.payload, {
      poster: connectionPoster(),
      forget: (id) => store.remove(id),
      concurrency: BROADCAST_CONCURRENCY,
      deadline: retryDeadline(context),
    });
    logInfo("broadcast", { connectionId, ...result, durationMs: Date.now() - started });
    return respond(200, "Sent");
  } catch (err) {
    // Only reading the table can stop a broadcast (after the SDK's own retries); recipients
    // already reached keep their copy.
    const reached = err instanceof BroadcastInterrupted ? err.result : undefined;
    const cause = err instanceof BroadcastInterrupted ? err.cause : err;
    logError("broadcast_failed", {
      connectionId,
      ...reached,
      ...describeError(cause),
      durationMs: Date.now() - started,
    });
    return respond(500, "Broadcast failed");
  }
};
