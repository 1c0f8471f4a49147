import { connectionStore } from "./lib/container";
import { presenceNameLimit } from "./lib/environment";
import { presenceFrame } from "./lib/frames";
import { logInfo } from "./lib/log";
import { roomPresence } from "./lib/presence";
import { respond } from "./lib/responses";
import { senderRoute } from "./lib/route-handler";

/**
 * `who`: the sender's room's presence, `{"type":"presence","room","count","names"}`, to the
 * sender only: how many connections are in the room (the sender too) and their distinct names,
 * up to the configured cap. Plain clients get the same JSON.
 */
export const handler = senderRoute({
  failureEvent: "who_failed",
  failureBody: "Presence failed",
  async serve({ connectionId, sender, deadline, reply }) {
    const { count, names } = await roomPresence(
      connectionStore().roomPages(sender.room, { deadline }),
      sender,
      presenceNameLimit(),
    );
    await reply(presenceFrame(sender.room, count, names));
    logInfo("who", { connectionId, room: sender.room, count });
    return respond(200, "Presence sent");
  },
});
