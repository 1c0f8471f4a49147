import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { connectionStore } from "./lib/container";
import { presenceNotices } from "./lib/environment";
import { invocationDeadline } from "./lib/deadline";
import { leftFrame } from "./lib/frames";
import { describeError, logError } from "./lib/log";
import { notify } from "./lib/presence";
import { respond } from "./lib/responses";
import type { LambdaContext } from "./lib/route-handler";

/**
 * `$disconnect`: forgets the connection and, with presence notices on, tells the room's other
 * chat.v1 clients who left. API Gateway delivers this best-effort only, which is why records
 * also expire on their own (and then nobody is told).
 *
 * Not a `senderRoute`, on purpose: the connection is already closed, so there is nobody to
 * reply to or refuse, a record that is gone is simply nothing to remove, and a failure is only
 * logged (the answer is always 200: API Gateway does nothing with it).
 */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: LambdaContext,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, requestTimeEpoch } = event.requestContext;
  // Lambda's timeout alone, not API Gateway's 29 s from the request: no client waits for this
  // answer, so the notices to the room may use all of the function's time.
  const deadline = invocationDeadline(context);
  try {
    const left = await connectionStore().remove(connectionId, { deadline });
    // Only a record this call deleted is announced: a second $disconnect, or one for a record
    // a broadcast already dropped, tells nobody twice.
    if (left && presenceNotices()) {
      const at = new Date(requestTimeEpoch ?? Date.now()).toISOString();
      const frame = leftFrame(left.room, left.name, at);
      await notify("left", { connectionId, room: left.room, frame }, deadline);
    }
  } catch (err) {
    // Nobody is left to tell; the record expires by itself.
    logError("disconnect_failed", { connectionId, ...describeError(err) });
  }
  return respond(200, "Disconnected");
};
