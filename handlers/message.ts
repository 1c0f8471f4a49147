import { broadcast, BroadcastInterrupted, emptyResult } from "./lib/broadcast";
import { connectionStore, messageRateLimiter, historyStore } from "./lib/container";
import { maxMessageFrameBytes, messageFrame } from "./lib/frames";
import { StoredMessage } from "./lib/history-store";
import { describeError, logError, logInfo } from "./lib/log";
import { NOT_CONNECTED, parseMessage, rateLimitedReply } from "./lib/message";
import { messageId } from "./lib/message-id";
import { broadcastPoster, MAX_IN_FLIGHT } from "./lib/pool-poster";
import { respond } from "./lib/responses";
import { senderRoute } from "./lib/route-handler";

/**
 * The message route: sends the message to everyone in the sender's room, the sender too: its
 * `data` as raw text to plain clients, a `{"type":"message",...}` frame to `chat.v1` clients.
 */
export const handler = senderRoute({
  failureEvent: "broadcast_failed",
  failureBody: "Broadcast failed",
  async serve({ event, connectionId, sender, deadline, startedAt, reply, refuse }) {
    const message = parseMessage(event.body);
    if (!message.ok) return refuse(400, "BadRequest", message.reason);

    // Both formats built once for the whole room.
    const sentAt = event.requestContext.requestTimeEpoch ?? startedAt;
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
      return refuse(413, "PayloadTooLarge", reason);
    }

    // Only broadcasts are limited: they are what costs one post per recipient. The time is
    // API Gateway's, the same clock for every container that serves this connection; the
    // sender's record was just read consistently, so the bucket needs no read of its own.
    const limiter = messageRateLimiter();
    const admission = await limiter?.take(connectionId, sentAt, sender, { deadline });
    if (admission?.outcome === "unknown") return refuse(410, "NotConnected", NOT_CONNECTED);
    if (admission?.outcome === "limited") {
      const { retryAfterMs } = admission;
      logInfo("rate_limited", { connectionId, retryAfterMs });
      await reply(rateLimitedReply(retryAfterMs, limiter!.limit, sender.structured));
      return respond(429, "Rate limited");
    }

    // One write per message, alongside the broadcast rather than before it. A message the
    // history could not keep is still delivered: the failure is logged, not the sender's.
    const stored = keep({ room: sender.room, id, sentAtMs: sentAt, frame }, deadline);
    const store = connectionStore();
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
      durationMs: Date.now() - startedAt,
    });
    return respond(200, "Sent");
  },
  // Only the table (the sender's record and rate limit, then the room) can stop a broadcast,
  // after the SDK's own retries or at the deadline; recipients already reached keep their copy.
  // Unlike the other routes' failures, the sender is told: its message may be half delivered.
  failure(err, { startedAt }) {
    const reached = err instanceof BroadcastInterrupted ? err.result : emptyResult();
    const cause = err instanceof BroadcastInterrupted ? err.cause : err;
    return {
      cause,
      fields: { ...reached, durationMs: Date.now() - startedAt },
      tell: {
        error: "BroadcastFailed",
        reason:
          `The chat's table could not be read (${describeError(cause).errorName}): the message ` +
          `reached ${reached.delivered} connection(s) of the room. Send it again in a moment.`,
      },
    };
  },
});

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
