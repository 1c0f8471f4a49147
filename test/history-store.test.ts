import { strict as assert } from "assert";
import { messageFrame } from "../handlers/lib/frames";
import { HEAD_KEY, HistoryStore, seqKey } from "../handlers/lib/history-store";
import { messageId } from "../handlers/lib/message-id";
import { dynamoBackends, TestDynamo } from "./support/dynamo";

const HOUR = 3600;

for (const backend of dynamoBackends())
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

    /** Stores one message of `room` sent at `sentAtMs`; returns its frame and seq. */
    async function keep(store: HistoryStore, room: string, sentAtMs: number, data: string) {
      const id = messageId(sentAtMs);
      const frameOf = (seq: number) =>
        messageFrame({
          room,
          from: "ann",
          dataJson: JSON.stringify(data),
          sentAt: new Date(sentAtMs).toISOString(),
          id,
          seq,
        });
      const seq = await store.append({ room, id, sentAtMs, frame: frameOf });
      return { frame: frameOf(seq), seq };
    }

    it("numbers a room's messages 1, 2, 3... and returns the latest oldest first, at most `limit`, no other room's", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      const frames: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { frame, seq } = await keep(store, "a", now - 60_000 + i, `m${i}`);
        assert.equal(seq, i + 1);
        frames.push(frame);
      }
      assert.equal((await keep(store, "b", now, "other room")).seq, 1, "each room counts alone");
      assert.deepEqual(await store.recent("a", 10, { now }), {
        frames,
        firstSeq: 1,
        latestSeq: 5,
      });
      assert.deepEqual((await store.recent("a", 2, { now })).frames, frames.slice(3));
      assert.deepEqual(await store.recent("nobody", 10, { now }), { frames: [], latestSeq: 0 });
    });

    it("gives 60 messages written at once from 6 clients exactly the numbers 1..60", async function () {
      // Six containers: six clients (and so six connection pools) on one table.
      const stores = Array.from({ length: 6 }, () => {
        const client = TestDynamo.newClient(dynamo.endpoint);
        return { client, store: new HistoryStore(client, tableName, HOUR) };
      });
      try {
        const seqs = await Promise.all(
          Array.from({ length: 60 }, (_, i) => keep(stores[i % 6].store, "busy", now, `m${i}`)),
        );
        assert.deepEqual(
          seqs.map((s) => s.seq).sort((a, b) => a - b),
          Array.from({ length: 60 }, (_, i) => i + 1),
        );
        const items = await dynamo.items(tableName);
        assert.equal(items.filter((item) => item.id.startsWith("s#")).length, 60, "one item each");
      } finally {
        for (const { client } of stores) client.destroy();
      }
    });

    it("one write per message under a key that sorts by seq, with a TTL of the retention", async function () {
      const store = new HistoryStore(dynamo.client, tableName, 2 * HOUR);
      await keep(store, "a", now, "one");
      const items = await dynamo.items(tableName);
      assert.equal(items.length, 1);
      assert.equal(items[0].id, seqKey(1));
      assert.equal(seqKey(1), "s#0000000000000001");
      assert.ok(seqKey(10) > seqKey(9));
      assert.equal(Number(items[0].expiresAt), Math.ceil(now / 1000) + 2 * HOUR);
    });

    it("continues the sequence from the head once every message has expired", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      const { seq } = await keep(store, "a", now, "one");
      await store.advanceHead("a", seq, now);
      // As TTL would: the message item is gone, the head (kept longer) is not.
      await dynamo.deleteItem(tableName, { room: "a", id: seqKey(1) });
      assert.deepEqual(
        (await dynamo.items(tableName)).map((item) => item.id),
        [HEAD_KEY],
      );
      assert.equal((await keep(store, "a", now, "two")).seq, 2);
      await store.advanceHead("a", 1, now); // a late, older head move changes nothing
      assert.equal(await store.latestSeq("a"), 2);
    });

    it("without history (retention 0) keeps only a counter per room: no message is written", async function () {
      const store = new HistoryStore(dynamo.client, tableName, 0);
      assert.equal((await keep(store, "a", now, "one")).seq, 1);
      assert.equal((await keep(store, "a", now, "two")).seq, 2);
      const items = await dynamo.items(tableName);
      assert.deepEqual(
        items.map((item) => [item.id, item.seq, "frame" in item]),
        [[HEAD_KEY, "2", false]],
      );
      assert.deepEqual(await store.since("a", 0, 10, { now }), { frames: [], latestSeq: 2 });
    });

    it("since: the messages after a seq, oldest first, at most `limit`, one Query from there", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      const frames: string[] = [];
      for (let i = 0; i < 12; i++)
        frames.push((await keep(store, "a", now - 100 + i, `m${i}`)).frame);
      assert.deepEqual(await store.since("a", 3, 4, { now }), {
        frames: frames.slice(3, 7),
        firstSeq: 4,
        latestSeq: 12,
      });
      assert.deepEqual(await store.since("a", 12, 4, { now }), { frames: [], latestSeq: 12 });
      assert.deepEqual((await store.since("a", 0, 100, { now })).frames, frames);
    });

    it("leaves out messages older than the retention, which TTL may not have deleted yet", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      await keep(store, "a", now - HOUR * 1000 - 1_000, "too old");
      const recent = await keep(store, "a", now - HOUR * 1000 + 1_000, "just in");
      assert.deepEqual((await store.recent("a", 10, { now })).frames, [recent.frame]);
      assert.deepEqual(await store.since("a", 0, 10, { now }), {
        frames: [recent.frame],
        firstSeq: 2,
        latestSeq: 2,
      });
    });

    it("reads on past DynamoDB's 1 MB pages until it has `limit` messages", async function () {
      const store = new HistoryStore(dynamo.client, tableName, HOUR);
      const big = "x".repeat(100_000);
      const frames: string[] = [];
      for (let i = 0; i < 25; i++)
        frames.push((await keep(store, "a", now - 25 + i, `${i}${big}`)).frame);
      const recent = await store.recent("a", 20, { now });
      assert.equal(recent.frames.length, 20, "2 MB of history takes more than one page");
      assert.deepEqual(recent.frames, frames.slice(5));
      const since = await store.since("a", 2, 20, { now });
      assert.deepEqual(since.frames, frames.slice(2, 22));
    });
  });
