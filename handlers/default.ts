import { messageShape } from "./lib/clients";
import { actionMessage, exampleMessage } from "./lib/message";
import { anyoneRoute } from "./lib/route-handler";
import { HISTORY_ROUTE, WHO_ROUTE } from "./routes";

/** `$default`: a message no route matched. Tells the sender, and only the sender, what to send. */
export const handler = anyoneRoute({
  failureEvent: "default_failed",
  failureBody: "Failed",
  async serve({ refuse }) {
    const shape = messageShape();
    const ask = (routeKey: string) => JSON.stringify(actionMessage(shape, routeKey));
    const reason =
      `Unknown action. Send a message like ${JSON.stringify(exampleMessage(shape))}, ` +
      `or ask for ${ask(HISTORY_ROUTE)} or ${ask(WHO_ROUTE)}.`;
    return refuse(400, "UnknownAction", reason);
  },
});
