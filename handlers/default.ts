import { messageShape } from "./lib/container";
import { clientIdOf, errorReply, unroutableReason } from "./lib/message";
import { respond } from "./lib/responses";
import { anyoneRoute } from "./lib/route-handler";

/**
 * `$default`: a message no route matched (API Gateway sends a body that is not JSON here too).
 * Tells the sender, and only the sender, what is wrong with it and what to send instead, with
 * the message's `clientId` if it had one: a send under an unknown route key is refused.
 */
export const handler = anyoneRoute({
  failureEvent: "default_failed",
  failureBody: "Failed",
  async serve({ event, sender, reply }) {
    const shape = messageShape();
    const reason = unroutableReason(event.body, shape);
    // The error stays "UnknownAction" whatever the reason: clients read it as "not routed".
    const structured = sender?.structured ?? false;
    await reply(errorReply("UnknownAction", reason, shape, structured, clientIdOf(event.body)));
    return respond(400, reason);
  },
});
