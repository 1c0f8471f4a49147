import { historyStore } from "./lib/container";
import { historyLimit } from "./lib/environment";
import { historyFrames, HistoryState } from "./lib/frames";
import { HistoryPage } from "./lib/history-store";
import { logInfo } from "./lib/log";
import { isComplete, parseHistoryRequest } from "./lib/message";
import { respond } from "./lib/responses";
import { senderRoute } from "./lib/route-handler";

/**
 * `history`: the sender's room's latest messages (up to the configured limit, oldest first), to
 * the sender only, as `{"type":"history",...,"latestSeq":n}` frames of at most 128 KB each.
 * With `"since":<seq>` (a resume), the messages after that `seq` instead, and whether the reply
 * misses none of them (`complete`). Plain clients get the same JSON. A chat that keeps no
 * history answers with an empty one.
 */
export const handler = senderRoute({
  failureEvent: "history_failed",
  failureBody: "History failed",
  async serve({ event, connectionId, sender, deadline, reply, refuse }) {
    const request = parseHistoryRequest(event.body);
    if (!request.ok) return refuse(400, "BadRequest", request.reason);
    const { since } = request;
    const history = historyStore();
    const read = { deadline };
    const page: HistoryPage = !history
      ? { frames: [], latestSeq: 0 }
      : since === undefined
        ? await history.recent(sender.room, historyLimit(), read)
        : await history.since(sender.room, since, historyLimit(), read);
    const state: HistoryState = history ? { latestSeq: page.latestSeq } : {};
    if (since !== undefined) {
      state.since = since;
      state.complete = isComplete(since, page);
    }
    const frames = historyFrames(sender.room, page.frames, state);
    // In order, one after another: a client reassembles the history as it arrives.
    for (const frame of frames) await reply(frame);
    logInfo("history", {
      connectionId,
      room: sender.room,
      messages: page.frames.length,
      frames: frames.length,
      ...state,
    });
    return respond(200, "History sent");
  },
});
