import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { messageShape, replyTo } from "./lib/clients";
import { errorReply, exampleMessage } from "./lib/message";
import { respond } from "./lib/responses";

/** `$default`: a message no route matched. Tells the sender, and only the sender, what to send. */
export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
): Promise<APIGatewayProxyResultV2> => {
  const shape = messageShape();
  const reason = `Unknown action. Send a message like ${JSON.stringify(exampleMessage(shape))}.`;
  await replyTo(event.requestContext.connectionId, errorReply("UnknownAction", reason, shape));
  return respond(400, reason);
};
