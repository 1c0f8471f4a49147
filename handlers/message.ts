import { broadcast, BroadcastInterrupted, emptyResult } from "./lib/broadcast";
import {
  connectionStore,
  historyStore,
  messageRateLimiter,
  messageShape,
  replyTo,
  sendLedger,
} from "./lib/container";
import { ackFrame, MAX_SEQ, maxMessageFrameBytes, messageFrame } from "./lib/frames";
import { describeError, logError, logInfo } from "./lib/log";
import { errorReply, NOT_CONNECTED, parseMessage, rateLimitedReply } from "./lib/message";
import { messageId } from "./lib/message-id";
import { broadcastPoster, MAX_IN_FLIGHT } from "./lib/pool-poster";
import { respond } from "./lib/responses";
import { senderRoute } from "./lib/route-handler";

/**
 * The message route: gives the message its room's next `seq`, keeps it in the room's history,
 * and sends it to everyone in the sender's room, the sender too: its `data` as raw text to plain
 * clients, a `{"type":"message",...}` frame to `chat.v1` clients. A message with a `clientId` is
 * acknowledged to its sender, and sent only once per `clientId` (handlers/lib/sends.ts).
 */
export const handler = senderRoute({
  failureEvent: "broadcast_failed",
  failureBody: "Broadcast failed",
  async serve({ event, connectionId, sender, deadline, startedAt, reply }) {
    const message = parseMessage(event.body);
    const { clientId } = message;
    // Every refusal names the clientId, so the sender knows which message it was.
    const refuse = async (statusCode: number, error: string, reason: string) => {
      await reply(errorReply(error, reason, messageShape(), sender.structured, clientId));
      return respond(statusCode, reason);
    };
    if (!message.ok) return refuse(400, "BadRequest", message.reason);

    // Both formats built once for the whole room, the frame once the message has its number.
    const sentAt = event.requestContext.requestTimeEpoch ?? startedAt;
    const id = messageId(sentAt);
    const history = historyStore();
    const frameOf = (seq?: number) =>
      messageFrame({
        room: sender.room,
        from: sender.name,
        dataJson: message.dataJson,
        sentAt: new Date(sentAt).toISOString(),
        id,
        seq,
      });
    const frameBytes = Buffer.byteLength(frameOf(history ? MAX_SEQ : undefined));
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
      await reply(rateLimitedReply(retryAfterMs, limiter!.limit, sender.structured, clientId));
      return respond(429, "Rate limited");
    }

    // A clientId seen before in this room is answered, not broadcast again.
    const ledger = clientId ? sendLedger() : undefined;
    const claim =
      ledger && clientId ? await ledger.claim(sender.room, clientId, { deadline }) : undefined;
    if (claim?.outcome === "duplicate") {
      await reply(ackFrame({ clientId: clientId!, ...claim.message, duplicate: true }));
      logInfo("duplicate", { connectionId, room: sender.room, seq: claim.message.seq });
      return respond(200, "Duplicate");
    }
    if (claim?.outcome === "pending") {
      const reason =
        `A message with clientId "${clientId}" is being sent right now (an earlier attempt): ` +
        `send it again in a second to hear how it went.`;
      return refuse(409, "SendPending", reason);
    }

    // The message's number first: the frame carries it. Stored under it, it is accepted.
    let seq: number | undefined;
    if (history) {
      try {
        seq = await history.append(
          { room: sender.room, id, sentAtMs: sentAt, clientId, frame: frameOf },
          deadline,
          claim?.after,
        );
      } catch (err) {
        if (claim?.outcome === "claimed") await claim.release().catch(logFailure("release_failed"));
        throw new MessageFailed(err, undefined, clientId);
      }
    }
    const follow = afterStored(connectionId, sender.room, { id, seq, sentAt, clientId }, deadline);
    const store = connectionStore();
    const result = await broadcast(
      store.roomPages(sender.room, { deadline, names: false }),
      { plain: message.payload, structured: frameOf(seq) },
      {
        poster: broadcastPoster(),
        // Never a record younger than GONE_GRACE_MS: a 410 may mean "not connected yet".
        forget: (gone) => store.forgetGone(gone, { deadline }),
        concurrency: MAX_IN_FLIGHT,
        deadline,
      },
    )
      .catch((err: unknown) => {
        throw new MessageFailed(err, seq, clientId);
      })
      .finally(() => follow);
    logInfo("broadcast", {
      connectionId,
      room: sender.room,
      ...result,
      stored: seq !== undefined && history!.keepsMessages,
      ...(seq === undefined ? {} : { seq }),
      durationMs: Date.now() - startedAt,
    });
    return respond(200, "Sent");
  },
  // Only the table (the sender's record and rate limit, the room's sequence, then the room) can
  // stop a broadcast, after the SDK's own retries or at the deadline; recipients already
  // reached keep their copy. Unlike the other routes' failures, the sender is told: its message
  // may be half delivered, or kept but not delivered.
  failure(err, { startedAt }) {
    const failed = err instanceof MessageFailed ? err : undefined;
    const inner = failed ? failed.cause : err;
    const reached = inner instanceof BroadcastInterrupted ? inner.result : emptyResult();
    const cause = inner instanceof BroadcastInterrupted ? inner.cause : inner;
    const seq = failed?.seq;
    const errorName = describeError(cause).errorName;
    const reason =
      seq === undefined
        ? `The chat's table could not be read (${errorName}): the message reached ` +
          `${reached.delivered} connection(s) of the room. Send it again in a moment.`
        : `The chat's table could not be read (${errorName}): the message is kept as seq ` +
          `${seq} and reached ${reached.delivered} connection(s) of the room; the others get ` +
          `it when they ask for the history since their last seq. Do not send it again.`;
    return {
      cause,
      fields: {
        ...reached,
        ...(seq === undefined ? {} : { seq }),
        durationMs: Date.now() - startedAt,
      },
      tell: { error: "BroadcastFailed", reason },
    };
  },
});

/** A message that failed, with its `seq` if it was stored and its `clientId` if it had one. */
class MessageFailed extends Error {
  constructor(
    readonly cause: unknown,
    readonly seq: number | undefined,
    readonly clientId: string | undefined,
  ) {
    super(describeError(cause).errorMessage);
    this.name = "MessageFailed";
  }
}

/**
 * What follows once a message is stored, alongside its broadcast: the room's head moves on, a
 * `clientId` is settled (later sends of it are duplicates), then the sender hears the ack.
 * Failures are logged, never the sender's: the message is kept either way.
 */
async function afterStored(
  connectionId: string,
  room: string,
  message: { id: string; seq?: number; sentAt: number; clientId?: string },
  deadline?: number,
): Promise<void> {
  const { id, seq, sentAt, clientId } = message;
  const history = historyStore();
  const head =
    seq !== undefined && history?.keepsMessages
      ? history.advanceHead(room, seq, sentAt, deadline).catch(logFailure("head_failed", room))
      : undefined;
  if (clientId) {
    const ledger = sendLedger();
    if (ledger && seq !== undefined) {
      await ledger
        .settle(room, clientId, { seq, id }, deadline)
        .catch(logFailure("settle_failed", room));
    }
    await replyTo(connectionId, ackFrame({ clientId, id, seq, duplicate: false }), deadline);
  }
  await head;
}

/** Logs a failure of something the sender does not wait for. */
function logFailure(event: string, room?: string) {
  return (err: unknown) => logError(event, { room, ...describeError(err) });
}
