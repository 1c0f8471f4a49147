import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { connectionStore } from "./lib/clients";
import { invocationDeadline } from "./lib/deadline";
import { describeError, logError } from "./lib/log";
import { respond } from "./lib/responses";

/**
 * `$disconnect`: forgets the connection. API Gateway delivers this best-effort only, which is
 * why records also expire on their own.
 */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId } = event.requestContext;
  try {
    await connectionStore().remove(connectionId, { deadline: invocationDeadline(context) });
  } catch (err) {
    // Nobody is left to tell; the record expires by itself.
    logError("disconnect_failed", { connectionId, ...describeError(err) });
  }
  return respond(200, "Disconnected");
};
