import { strict as assert } from "assert";
import { MAX_MESSAGE_BYTES } from "../handlers/lib/limits";
import { CapturedLog } from "./support/captured-log";
import { FakeConnectionsApi } from "./support/connections-api";
import { dynamoBackends, TestDynamo } from "./support/dynamo";
import { startHandler, TestHandler, websocketEvent } from "./support/handlers";

const LIVE = 4_000_000_000;
const ANN = "ann+/00000000000=";
const BOB = "bob+/00000000000=";
const EVE = "eve+/00000000000="; // in another room

interface HistoryFrame {
  type: string;
  room: string;
  messages: { type: string; from: string; data: unknown; id: string; sentAt: string }[];
}

for (const backend of dynamoBackends()) {
  describe(`history route handler, with the message route writing the history (${backend})`, function () {
    let dynamo: TestDynamo;
    let api: FakeConnectionsApi;
    let env: Record<string, string>;
    let logs: CapturedLog;
    const handlers: TestHandler[] = [];

    before(async function () {
      [dynamo, api] = await Promise.all([TestDynamo.start(backend), FakeConnectionsApi.start()]);
    });
    after(async function () {
      await Promise.all([dynamo.stop(), api.stop()]);
    });
    beforeEach(async function () {
      api.reset();
      logs = new CapturedLog();
      env = {
        TABLE_NAME: await dynamo.createConnectionsTable(),
        HISTORY_TABLE_NAME: await dynamo.createHistoryTable(),
        MANAGEMENT_ENDPOINT: api.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      };
      await dynamo.putConnections(env.TABLE_NAME, [
        { id: ANN, expiresAt: LIVE, room: "lobby", name: "Ann", structured: true },
        { id: BOB, expiresAt: LIVE, room: "lobby", name: "Bob" },
        { id: EVE, expiresAt: LIVE, room: "elsewhere", name: "Eve" },
      ]);
    });
    afterEach(async function () {
      await Promise.all([...started.values()]);
      started.clear();
      await Promise.all(handlers.splice(0).map((handler) => handler.close()));
    });

    // One container per handler and environment within a test, as Lambda keeps warm ones.
    const started = new Map<string, Promise<TestHandler>>();
    function start(name: "message" | "history", extra: Record<string, string> = {}) {
      const key = `${name} ${JSON.stringify(extra)}`;
      let handler = started.get(key);
      if (!handler) {
        handler = startHandler(name, { ...env, ...extra }, logs);
        void handler.then((h) => handlers.push(h));
        started.set(key, handler);
      }
      return handler;
    }

    async function send(sender: string, data: unknown, extra: Record<string, string> = {}) {
      const message = await start("message", extra);
      return message.invoke(
        websocketEvent(
          "MESSAGE",
          "sendmessage",
          sender,
          JSON.stringify({ action: "sendmessage", data }),
        ),
      );
    }

    /** What `sender` gets back for `{"action":"history"}`: every frame, in order. */
    async function history(sender: string, extra: Record<string, string> = {}) {
      api.reset();
      const handler = await start("history", extra);
      const result = await handler.invoke(
        websocketEvent("MESSAGE", "history", sender, '{"action":"history"}'),
      );
      assert.deepEqual([...api.delivered.keys()], [sender], "the reply goes to the sender only");
      const frames = api.delivered.get(sender)!;
      return { result, frames, parsed: frames.map((f) => JSON.parse(f) as HistoryFrame) };
    }

    it("replays the room's messages oldest first, as the frames that were broadcast, one write each", async function () {
      await send(ANN, "first");
      await send(BOB, { second: true });
      await send(EVE, "not in this room");
      const broadcastToAnn = api.delivered.get(ANN)!;
      const items = await dynamo.items(env.HISTORY_TABLE_NAME);
      assert.equal(items.filter((i) => i.id.startsWith("s#")).length, 3, "one item per message");

      const { result, frames, parsed } = await history(ANN);
      assert.equal(result.statusCode, 200);
      assert.equal(frames.length, 1);
      assert.equal(parsed[0].type, "history");
      assert.equal(parsed[0].room, "lobby");
      assert.deepEqual(
        parsed[0].messages.map((m) => [m.from, m.data]),
        [
          ["Ann", "first"],
          ["Bob", { second: true }],
        ],
      );
      assert.deepEqual(
        parsed[0].messages.map((m) => JSON.stringify(m)),
        broadcastToAnn,
        "byte for byte what was broadcast",
      );
    });

    it("gives a plain client the same JSON", async function () {
      await send(ANN, "hello");
      const { parsed } = await history(BOB);
      assert.deepEqual(
        parsed[0].messages.map((m) => m.data),
        ["hello"],
      );
    });

    it("replays at most HISTORY_LIMIT messages: the latest ones", async function () {
      for (let i = 0; i < 7; i++) await send(ANN, `m${i}`);
      const { parsed } = await history(ANN, { HISTORY_LIMIT: "3" });
      assert.deepEqual(
        parsed[0].messages.map((m) => m.data),
        ["m4", "m5", "m6"],
      );
    });

    it("splits a history over 128 KB into several frames, none over it, in order", async function () {
      const big = (i: number) => `${i}:${"x".repeat(50_000)}`;
      for (let i = 0; i < 6; i++) await send(ANN, big(i));
      const { frames, parsed } = await history(ANN);
      assert.ok(frames.length >= 3, `${frames.length} frames for 300 KB`);
      for (const frame of frames) assert.ok(Buffer.byteLength(frame) <= MAX_MESSAGE_BYTES);
      assert.deepEqual(
        parsed.flatMap((frame) => frame.messages.map((m) => m.data)),
        [0, 1, 2, 3, 4, 5].map(big),
      );
      for (const frame of parsed) assert.deepEqual([frame.type, frame.room], ["history", "lobby"]);
    });

    it("keeps no message, only the room's counter, and replays an empty history when the retention is 0", async function () {
      const zero = { HISTORY_RETENTION_SECONDS: "0" };
      await send(ANN, "forgotten", zero);
      const items = await dynamo.items(env.HISTORY_TABLE_NAME);
      assert.deepEqual(
        items.map((item) => Object.keys(item).sort()),
        [["expiresAt", "id", "room", "seq"]],
        "no frame, no message item",
      );
      const { parsed } = await history(ANN, zero);
      assert.deepEqual(parsed, [{ type: "history", room: "lobby", messages: [], latestSeq: 1 }]);
    });

    it("keeps no message that was refused", async function () {
      await send(ANN, "z".repeat(MAX_MESSAGE_BYTES - 50));
      const message = await start("message");
      await message.invoke(
        websocketEvent("MESSAGE", "sendmessage", ANN, '{"action":"sendmessage"}'),
      );
      assert.deepEqual(await dynamo.items(env.HISTORY_TABLE_NAME), []);
    });

    it("tells a sender with no record to reconnect", async function () {
      api.reset();
      const handler = await start("history");
      const result = await handler.invoke(
        websocketEvent("MESSAGE", "history", "gone+/0000000000=", '{"action":"history"}'),
      );
      assert.equal(result.statusCode, 410);
      assert.equal(JSON.parse(api.delivered.get("gone+/0000000000=")![0]).error, "NotConnected");
    });
  });
}
