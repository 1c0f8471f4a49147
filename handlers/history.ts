import { historyStore } from "./lib/container";
import { historyLimit } from "./lib/environment";
import { historyFrames } from "./lib/frames";
import { logInfo } from "./lib/log";
import { respond } from "./lib/responses";
import { senderRoute } from "./lib/route-handler";

/**
 * `history`: the sender's room's latest messages (up to the configured limit, oldest first), to
 * the sender only, as `{"type":"history",...}` frames of at most 128 KB each. Plain clients get
 * the same JSON. A chat that keeps no history answers with an empty one.
 */
export const handler = senderRoute({
  failureEvent: "history_failed",
  failureBody: "History failed",
  async serve({ connectionId, sender, deadline, reply }) {
    const history = historyStore();
    const stored = history ? await history.recent(sender.room, historyLimit(), { deadline }) : [];
    const frames = historyFrames(sender.room, stored);
    // In order, one after another: a client reassembles the history as it arrives.
    for (const frame of frames) await reply(frame);
    logInfo("history", {
      connectionId,
      room: sender.room,
      messages: stored.length,
      frames: frames.length,
    });
    return respond(200, "History sent");
  },
});
