import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { connectionStore, messageShape, replyTo } from "./lib/clients";
import { invocationDeadline } from "./lib/deadline";
import { describeError, logError } from "./lib/log";
import { actionMessage, errorReply, exampleMessage } from "./lib/message";
import { respond } from "./lib/responses";
import { HISTORY_ROUTE, WHO_ROUTE } from "./routes";

/** `$default`: a message no route matched. Tells the sender, and only the sender, what to send. */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Pick<Context, "getRemainingTimeInMillis">,
): Promise<APIGatewayProxyResultV2> => {
  const { connectionId } = event.requestContext;
  const deadline = invocationDeadline(context, event.requestContext.requestTimeEpoch);
  const shape = messageShape();
  const ask = (routeKey: string) => JSON.stringify(actionMessage(shape, routeKey));
  const reason =
    `Unknown action. Send a message like ${JSON.stringify(exampleMessage(shape))}, ` +
    `or ask for ${ask(HISTORY_ROUTE)} or ${ask(WHO_ROUTE)}.`;
  await replyTo(
    connectionId,
    errorReply("UnknownAction", reason, shape, await isStructured()),
    deadline,
  );
  return respond(400, reason);

  // The reply is in the sender's format; when its record cannot be read, plain it is.
  async function isStructured(): Promise<boolean> {
    try {
      return (await connectionStore().get(connectionId, { deadline }))?.structured ?? false;
    } catch (err) {
      logError("sender_lookup_failed", { connectionId, ...describeError(err) });
      return false;
    }
  }
};
