import type { APIGatewayProxyResultV2 } from "aws-lambda";
import { connectionStore } from "./lib/container";
import { connectionTtlSeconds, presenceNotices } from "./lib/environment";
import { invocationDeadline } from "./lib/deadline";
import { CHAT_PROTOCOL } from "./lib/connection-store";
import { joinedFrame } from "./lib/frames";
import { ConnectEvent, readJoinRequest } from "./lib/join-request";
import { notify } from "./lib/presence";
import { describeError, logError, logInfo } from "./lib/log";
import { respond } from "./lib/responses";
import type { LambdaContext } from "./lib/route-handler";

/**
 * `$connect`: checks the room and name the client asked for and records the connection in its
 * room. Anything but 2xx refuses the WebSocket handshake: 400 for a room or name the chat does
 * not accept. A client that offers `chat.v1` gets it selected: API Gateway completes the
 * handshake with the `Sec-WebSocket-Protocol` this handler returns, and none without it.
 * With presence notices on, the room's other chat.v1 clients are told who joined; the
 * handshake waits for that, and a failure there is logged, never the joiner's.
 *
 * Not a `senderRoute`: there is no sender's record yet (this handler writes it), and no reply to
 * post, since the connection is not open until this answers. The handshake's status is the
 * answer: 400 for a refused room or name, 500 for a failure. Its deadline counts from the
 * request, as the routes' do: the client is waiting for the handshake.
 */
export const handler = async (
  event: ConnectEvent,
  context?: LambdaContext,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, connectedAt } = event.requestContext;
  const request = readJoinRequest(event);
  if (!request.ok) {
    logInfo("connect_refused", { connectionId, reason: request.reason });
    return respond(400, request.reason);
  }
  const { room, name, structured } = request.join;
  const deadline = invocationDeadline(context, event.requestContext.requestTimeEpoch);
  try {
    await connectionStore().add(
      { connectionId, room, name, structured },
      connectedAt ?? Date.now(),
      connectionTtlSeconds(),
      { deadline },
    );
  } catch (err) {
    logError("connect_failed", { connectionId, ...describeError(err) });
    return respond(500, "Failed to connect");
  }
  if (presenceNotices()) {
    const at = new Date(event.requestContext.requestTimeEpoch ?? Date.now()).toISOString();
    await notify("joined", { connectionId, room, frame: joinedFrame(room, name, at) }, deadline);
  }
  return structured
    ? respond(200, "Connected", { "Sec-WebSocket-Protocol": CHAT_PROTOCOL })
    : respond(200, "Connected");
};
