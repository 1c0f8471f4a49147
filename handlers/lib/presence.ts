import { broadcast, BroadcastResult } from "./broadcast";
import { BROADCAST_CONCURRENCY, connectionPoster, connectionStore } from "./container";
import type { ConnectionStore, RoomMember } from "./connection-store";
import { describeError, logError, logInfo } from "./log";
import type { ConnectionPoster } from "./connection-poster";

/** Who is in a room: every live connection counted, their distinct names listed up to a cap. */
export interface Presence {
  count: number;
  /** Distinct names, sorted, at most the cap; `count` may be larger (and names repeat). */
  names: string[];
}

/**
 * Reads a room's presence from its pages of the room index. The index is eventually
 * consistent: a client that connected a moment ago may not be in it yet, so `asker` (read
 * from the table itself) is counted whether the index has it or not.
 */
export async function roomPresence(
  pages: AsyncIterable<RoomMember[]>,
  asker: RoomMember,
  nameLimit: number,
): Promise<Presence> {
  let count = 0;
  let askerSeen = false;
  const names = new Set<string>();
  for await (const page of pages) {
    count += page.length;
    for (const member of page) {
      names.add(member.name);
      askerSeen ||= member.connectionId === asker.connectionId;
    }
  }
  if (!askerSeen) {
    count++;
    names.add(asker.name);
  }
  return { count, names: [...names].sort().slice(0, nameLimit) };
}

/**
 * Tells `room`'s chat.v1 clients, except `exceptId` (the one joining or leaving), `frame` (a
 * `joined` or `left` notice). Plain clients hear nothing: the seed's protocol has no notices.
 * One Query of the room's chat.v1 members (plain ones are not read) and one post to each.
 * A recipient found gone is left for the next message's broadcast to clean up.
 */
export function announce(
  store: ConnectionStore,
  poster: ConnectionPoster,
  { room, exceptId, frame }: { room: string; exceptId: string; frame: string },
  { concurrency, deadline }: { concurrency: number; deadline?: number },
): Promise<BroadcastResult> {
  return broadcast(
    othersIn(store.roomPages(room, { deadline, structuredOnly: true, names: false }), exceptId),
    { structured: frame },
    { poster, forget: () => Promise.resolve(false), concurrency, deadline },
  );
}

async function* othersIn(
  pages: AsyncIterable<RoomMember[]>,
  exceptId: string,
): AsyncGenerator<RoomMember[]> {
  for await (const page of pages) yield page.filter((member) => member.connectionId !== exceptId);
}

/**
 * Announces a join or a departure (`event`) to the rest of the room, as the connect and
 * disconnect handlers do. Never throws: whoever joins or leaves is not held to the notice.
 */
export async function notify(
  event: "joined" | "left",
  notice: { connectionId: string; room: string; frame: string },
  deadline?: number,
): Promise<void> {
  const { connectionId, room, frame } = notice;
  const started = Date.now();
  try {
    const result = await announce(
      connectionStore(),
      connectionPoster(),
      { room, exceptId: connectionId, frame },
      { concurrency: BROADCAST_CONCURRENCY, deadline },
    );
    // A room with no chat.v1 client is told nothing: no line for every connect to it.
    const addressed = result.delivered + result.gone + result.connecting + result.failed;
    if (addressed > 0) {
      logInfo("notice", {
        notice: event,
        connectionId,
        room,
        ...result,
        durationMs: Date.now() - started,
      });
    }
  } catch (err) {
    logError("notice_failed", { notice: event, connectionId, room, ...describeError(err) });
  }
}
