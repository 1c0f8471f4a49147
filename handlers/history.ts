import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { connectionStore, historyStore, messageShape, replyTo } from "./lib/clients";
import { historyLimit } from "./lib/config";
import { invocationDeadline } from "./lib/deadline";
import { historyFrames } from "./lib/frames";
import { describeError, logError, logInfo } from "./lib/log";
import { errorReply, NOT_CONNECTED } from "./lib/message";
import { respond } from "./lib/responses";

/**
 * `history`: the sender's room's latest messages (up to the configured limit, oldest first), to
 * the sender only, as `{"type":"history",...}` frames of at most 128 KB each. Plain clients get
 * the same JSON. A chat that keeps no history answers with an empty one.
 */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId } = event.requestContext;
  const deadline = invocationDeadline(context, event.requestContext.requestTimeEpoch);
  try {
    const sender = await connectionStore().get(connectionId, { deadline });
    if (!sender) {
      const reply = errorReply("NotConnected", NOT_CONNECTED, messageShape());
      await replyTo(connectionId, reply, deadline);
      return respond(410, NOT_CONNECTED);
    }
    const history = historyStore();
    const stored = history ? await history.recent(sender.room, historyLimit(), { deadline }) : [];
    const frames = historyFrames(sender.room, stored);
    // In order, one after another: a client reassembles the history as it arrives.
    for (const frame of frames) await replyTo(connectionId, frame, deadline);
    logInfo("history", {
      connectionId,
      room: sender.room,
      messages: stored.length,
      frames: frames.length,
    });
    return respond(200, "History sent");
  } catch (err) {
    logError("history_failed", { connectionId, ...describeError(err) });
    return respond(500, "History failed");
  }
};
