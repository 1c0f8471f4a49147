import { strict as assert } from "assert";
import { RoomMember } from "../handlers/lib/connection-store";
import type { ConnectionStore } from "../handlers/lib/connection-store";
import type { ConnectionPoster } from "../handlers/lib/connection-poster";
import { announce, roomPresence } from "../handlers/lib/presence";

const member = (connectionId: string, name: string): RoomMember => ({
  connectionId,
  room: "r",
  name,
  structured: false,
});

async function* pages(...lists: RoomMember[][]): AsyncGenerator<RoomMember[]> {
  yield* lists;
}

describe("roomPresence", function () {
  it("counts every connection and lists each name once, sorted, across pages", async function () {
    const asker = member("a", "zed");
    const presence = await roomPresence(
      pages([asker, member("b", "anonymous")], [member("c", "anonymous"), member("d", "Bea")]),
      asker,
      100,
    );
    assert.deepEqual(presence, { count: 4, names: ["Bea", "anonymous", "zed"] });
  });

  it("lists at most the cap, while still counting everyone", async function () {
    const everyone = Array.from({ length: 10 }, (_, i) => member(`c${i}`, `n${i}`));
    const presence = await roomPresence(pages(everyone), everyone[0], 3);
    assert.deepEqual(presence, { count: 10, names: ["n0", "n1", "n2"] });
  });

  it("counts the asker even when the (eventually consistent) index does not have it yet", async function () {
    const presence = await roomPresence(pages([member("b", "bob")]), member("a", "ann"), 10);
    assert.deepEqual(presence, { count: 2, names: ["ann", "bob"] });
  });
});

describe("announce", function () {
  it("reads only the room's chat.v1 members, and tells every one but the newcomer", async function () {
    const asked: unknown[] = [];
    const store = {
      roomPages(room: string, options: unknown) {
        asked.push({ room, options });
        return pages([
          { ...member("new", "Fay"), structured: true },
          { ...member("old", "Ann"), structured: true },
        ]);
      },
    } as unknown as ConnectionStore;
    const posted: string[] = [];
    const poster: ConnectionPoster = {
      async post(id) {
        posted.push(id);
      },
    };
    const result = await announce(
      store,
      poster,
      { room: "r", exceptId: "new", frame: "{}" },
      { concurrency: 2, deadline: 123 },
    );
    assert.deepEqual(asked, [
      { room: "r", options: { deadline: 123, structuredOnly: true, names: false } },
    ]);
    assert.deepEqual(posted, ["old"]);
    assert.equal(result.delivered, 1);
  });
});
