import { messageShape } from "./lib/container";
import { unroutableReason } from "./lib/message";
import { anyoneRoute } from "./lib/route-handler";

/**
 * `$default`: a message no route matched (API Gateway sends a body that is not JSON here too).
 * Tells the sender, and only the sender, what is wrong with it and what to send instead.
 */
export const handler = anyoneRoute({
  failureEvent: "default_failed",
  failureBody: "Failed",
  async serve({ event, refuse }) {
    // The error stays "UnknownAction" whatever the reason: clients read it as "not routed".
    return refuse(400, "UnknownAction", unroutableReason(event.body, messageShape()));
  },
});
