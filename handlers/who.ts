import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { connectionStore, messageShape, replyTo } from "./lib/clients";
import { presenceNameLimit } from "./lib/config";
import { invocationDeadline } from "./lib/deadline";
import { presenceFrame } from "./lib/frames";
import { describeError, logError, logInfo } from "./lib/log";
import { errorReply, NOT_CONNECTED } from "./lib/message";
import { roomPresence } from "./lib/presence";
import { respond } from "./lib/responses";

/**
 * `who`: the sender's room's presence, `{"type":"presence","room","count","names"}`, to the
 * sender only: how many connections are in the room (the sender too) and their distinct names,
 * up to the configured cap. Plain clients get the same JSON.
 */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId } = event.requestContext;
  const deadline = invocationDeadline(context, event.requestContext.requestTimeEpoch);
  const store = connectionStore();
  try {
    const sender = await store.get(connectionId, { deadline });
    if (!sender) {
      const reply = errorReply("NotConnected", NOT_CONNECTED, messageShape());
      await replyTo(connectionId, reply, deadline);
      return respond(410, NOT_CONNECTED);
    }
    const { count, names } = await roomPresence(
      store.roomPages(sender.room, { deadline }),
      sender,
      presenceNameLimit(),
    );
    await replyTo(connectionId, presenceFrame(sender.room, count, names), deadline);
    logInfo("who", { connectionId, room: sender.room, count });
    return respond(200, "Presence sent");
  } catch (err) {
    logError("who_failed", { connectionId, ...describeError(err) });
    return respond(500, "Presence failed");
  }
};
