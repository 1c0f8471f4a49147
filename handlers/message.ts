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

// The sender's record is gone: it expired, or a broadcast found the connection closed.
const NOT_CONNECTED =
  "This connection is not in any room (its record expired or was removed): reconnect.";

/** The message route: sends the message's `data` to everyone in the sender's room, the sender too. */
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
    const sender = await store.get(connectionId);
    if (!sender) {
      await replyTo(connectionId, errorReply("NotConnected", NOT_CONNECTED, messageShape()));
      return respond(410, NOT_CONNECTED);
    }
    const result = await broadcast(
      store.roomPages(sender.room),
      { plain: message.payload, structured: message.payload },
      {
        poster: connectionPoster(),
        forget: async (id) => void (await store.remove(id)),
        concurrency: BROADCAST_CONCURRENCY,
        deadline: retryDeadline(context),
      },
    );
    logInfo("broadcast", {
      connectionId,
      room: sender.room,
      ...result,
      durationMs: Date.now() - started,
    });
    return respond(200, "Sent");
  } catch (err) {
    // Only reading the table (the sender's record, then the room) can stop a broadcast, after
    // the SDK's own retries; recipients already reached keep their copy.
    const reached =
      err instanceof BroadcastInterrupted
        ? err.result
        : { delivered: 0, gone: 0, failed: 0, failures: {} };
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
