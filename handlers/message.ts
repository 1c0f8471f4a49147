import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { broadcast, BroadcastInterrupted, emptyResult } from "./lib/broadcast";
import {
  connectionStore,
  messageRateLimiter,
  historyStore,
  messageShape,
  replyTo,
} from "./lib/clients";
import { maxMessageFrameBytes, messageFrame } from "./lib/frames";
import { invocationDeadline } from "./lib/deadline";
import { StoredMessage } from "./lib/history-store";
import { describeError, logError, logInfo } from "./lib/log";
import { errorReply, NOT_CONNECTED, parseMessage, rateLimitedReply } from "./lib/message";
import { messageId } from "./lib/message-id";
import { broadcastPoster, MAX_IN_FLIGHT } from "./lib/pool-poster";
import { respond } from "./lib/responses";

/**
 * The message route: sends the message to everyone in the sender's room, the sender too: its
 * `data` as raw text to plain clients, a `{"type":"message",...}` frame to `chat.v1` clients.
 */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, requestTimeEpoch } = event.requestContext;
  const deadline = invocationDeadline(context, requestTimeEpoch);
  const store = connectionStore();
  const limiter = messageRateLimiter();
  const started = Date.now();
  const refuse = async (statusCode: number, error: string, reason: string, structured: boolean) => {
    await replyTo(connectionId, errorReply(error, reason, messageShape(), structured), deadline);
    return respond(statusCode, reason);
  };
  // The sender's format, once its record is read: plain until then.
  let structured = false;
  try {
    // First, because even an error reply is in the sender's format.
    const sender = await store.get(connectionId, { deadline });
    if (!sender) return await refuse(410, "NotConnected", NOT_CONNECTED, false);
    structured = sender.structured;
    const message = parseMessage(event.body);
    if (!message.ok) return await refuse(400, "BadRequest", message.reason, sender.structured);

    // Both formats built once for the whole room.
    const sentAt = requestTimeEpoch ?? started;
    const id = messageId(sentAt);
    const frame = messageFrame({
      room: sender.room,
      from: sender.name,
      dataJson: message.dataJson,
      sentAt: new Date(sentAt).toISOString(),
      id,
    });
    const frameBytes = Buffer.byteLength(frame);
    const maxBytes = maxMessageFrameBytes(sender.room);
    if (frameBytes > maxBytes) {
      const reason =
        `The message is too large: as a chat.v1 frame it takes ${frameBytes} bytes, and ` +
        `API Gateway delivers at most ${maxBytes} in this room. Send less "data".`;
      return await refuse(413, "PayloadTooLarge", reason, sender.structured);
    }

    // Only broadcasts are limited: they are what costs one post per recipient. The time is
    // API Gateway's, the same clock for every container that serves this connection; the
    // sender's record was just read consistently, so the bucket needs no read of its own.
    const admission = await limiter?.take(connectionId, sentAt, sender, { deadline });
    if (admission?.outcome === "unknown") {
      return await refuse(410, "NotConnected", NOT_CONNECTED, sender.structured);
    }
    if (admission?.outcome === "limited") {
      const { retryAfterMs } = admission;
      logInfo("rate_limited", { connectionId, retryAfterMs });
      const reply = rateLimitedReply(retryAfterMs, limiter!.limit, sender.structured);
      await replyTo(connectionId, reply, deadline);
      return respond(429, "Rate limited");
    }

    // One write per message, alongside the broadcast rather than before it. A message the
    // history could not keep is still delivered: the failure is logged, not the sender's.
    const stored = keep({ room: sender.room, id, sentAtMs: sentAt, frame }, deadline);
    const result = await broadcast(
      store.roomPages(sender.room, { deadline, names: false }),
      { plain: message.payload, structured: frame },
      {
        poster: broadcastPoster(),
        // Never a record younger than GONE_GRACE_MS: a 410 may mean "not connected yet".
        forget: (gone) => store.forgetGone(gone, { deadline }),
        concurrency: MAX_IN_FLIGHT,
        deadline,
      },
    );
    logInfo("broadcast", {
      connectionId,
      room: sender.room,
      ...result,
      stored: await stored,
      durationMs: Date.now() - started,
    });
    return respond(200, "Sent");
  } catch (err) {
    // Only the table (the sender's record and rate limit, then the room) can stop a broadcast,
    // after the SDK's own retries or at the deadline; recipients already reached keep their copy.
    const reached = err instanceof BroadcastInterrupted ? err.result : emptyResult();
    const cause = err instanceof BroadcastInterrupted ? err.cause : err;
    const error = describeError(cause);
    logError("broadcast_failed", {
      connectionId,
      ...reached,
      ...error,
      durationMs: Date.now() - started,
    });
    // A one-way route's 500 reaches nobody: the sender hears it from us, or not at all.
    const reason =
      `The chat's table could not be read (${error.errorName}): the message reached ` +
      `${reached.delivered} connection(s) of the room. Send it again in a moment.`;
    return await refuse(500, "BroadcastFailed", reason, structured);
  }
};

/** Writes `message` to the room's history: true once kept, false when not (logged) or no history. */
async function keep(message: StoredMessage, deadline?: number): Promise<boolean> {
  const history = historyStore();
  if (!history) return false;
  try {
    await history.add(message, deadline);
    return true;
  } catch (err) {
    logError("history_write_failed", { room: message.room, id: message.id, ...describeError(err) });
    return false;
  }
}
