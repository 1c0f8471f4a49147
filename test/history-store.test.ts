import { strict as assert } from "assert";
import { messageFrame } from "../handlers/lib/frames";
import { HistoryStore } from "../handlers/lib/history-store";
import { messageId } from "../handlers/lib/message-id";
import { dynamoBackends, TestDynamo } from "./support/dynamo";

const HOUR = 3600;

for (const backend of dynamoBackends()) {
  describe(`HistoryStore (${backend})`, function () {
    let dynamo: TestDynamo;
    let tableName: string;
    const now = Date.now();

    before(async function () {
      dynamo = await TestDynamo.start(backend);
    });
    after(async function () {
      await dynamo.stop();
    });
    beforeEach(async function () {
      tableName = await dynamo.createHistoryTable("history");
    });

    /** Stores one message of `room` sent at `sentAtMs`; returns its frame. */
    async function keep(store: HistoryStore, room: string, sentAtMs: number, data: string) {
      const id = messageId(sentAtMs);
      const frame = messageFrame({
        room,
        from: "ann",
        dataJson: JSON.stringify(data),
        sentAt: new Date(sentAtMs).toISOString(),
        id,
      });
      await store.add({ room, id, sentAtMs, frame });
      return frame;
    }

    it("returns a room's latest messages oldest first, at most `limit`, and no other room's", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      const frames: string[] = [];
      // Written out of order: the order comes from the ids' times, not from arrival.
      for (const i of [3, 0, 4, 1, 2])
        frames[i] = await keep(store, "a", now - 60_000 + i, `m${i}`);
      await keep(store, "b", now, "other room");
      assert.deepEqual(await store.recent("a", 10, { now }), frames);
      assert.deepEqual(await store.recent("a", 2, { now }), frames.slice(3));
      assert.deepEqual(await store.recent("nobody", 10, { now }), []);
    });

    it("one write per message, with a TTL of the retention after it was sent", async function () {
      const store = new HistoryStore(dynamo.client, tableName, 2 * HOUR);
      await keep(store, "a", now, "one");
      const items = await dynamo.items(tableName);
      assert.equal(items.length, 1);
      assert.equal(Number(items[0].expiresAt), Math.ceil(now / 1000) + 2 * HOUR);
    });

    it("leaves out messages older than the retention, which TTL may not have deleted yet", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      await keep(store, "a", now - HOUR * 1000 - 1_000, "too old");
      const recent = await keep(store, "a", now - HOUR * 1000 + 1_000, "just in");
      assert.deepEqual(await store.recent("a", 10, { now }), [recent]);
    });

    it("reads on past DynamoDB's 1 MB pages until it has `limit` messages", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      const big = "x".repeat(100_000);
      const frames: string[] = [];
      for (let i = 0; i < 25; i++) frames.push(await keep(store, "a", now - 25 + i, `${i}${big}`));
      const recent = await store.recent("a", 20, { now });
      assert.equal(recent.length, 20, "2 MB of history takes more than one page");
      assert.deepEqual(recent, frames.slice(5));
    });
  });
}
