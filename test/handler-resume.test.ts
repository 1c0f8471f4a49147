import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { strict as assert } from "assert";
import { messageFrame } from "../handlers/lib/frames";
import { HistoryStore } from "../handlers/lib/history-store";
import { CapturedLog } from "./support/captured-log";
import { FakeConnectionsApi } from "./support/connections-api";
import { dynamoBackends, TestDynamo } from "./support/dynamo";
import { startHandler, TestHandler, websocketEvent } from "./support/handlers";

const LIVE = 4_000_000_000;
const ANN = "ann+/00000000000=";
const BOB = "bob+/00000000000=";
const EVE = "eve+/00000000000="; // in another room
const CLIENT_ID = "k7Qp2_x-Z9";

type Frame = Record<string, unknown>;

/** A frame as JSON; a plain client's raw text as `{ raw }`. */
function parsed(text: string): Frame {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null) return value as Frame;
  } catch {
    // raw text
  }
  return { raw: text };
}

/**
 * The message and history bundles with the sequence, `since`, acks and idempotent sends: the
 * contract's details and the crash cases a live chat cannot stage (test/local-chat-resume.test.ts
 * has the end-to-end ones).
 */
for (const backend of dynamoBackends())
  describe(`message and history handlers: seq, since, acks and clientIds (${backend})`, function () {
    let dynamo: TestDynamo;
    let api: FakeConnectionsApi;
    let env: Record<string, string>;
    const logs = new CapturedLog();
    const started = new Map<string, Promise<TestHandler>>();

    before(async function () {
      [dynamo, api] = await Promise.all([TestDynamo.start(backend), FakeConnectionsApi.start()]);
    });
    after(async function () {
      await Promise.all([dynamo.stop(), api.stop()]);
    });
    beforeEach(async function () {
      api.reset();
      env = {
        TABLE_NAME: await dynamo.createConnectionsTable(),
        HISTORY_TABLE_NAME: await dynamo.createHistoryTable(),
        MANAGEMENT_ENDPOINT: api.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      };
      await dynamo.putConnections(env.TABLE_NAME, [
        { id: ANN, expiresAt: LIVE, room: "lobby", name: "Ann", structured: true },
        { id: BOB, expiresAt: LIVE, room: "lobby", name: "Bob" },
        { id: EVE, expiresAt: LIVE, room: "elsewhere", name: "Eve", structured: true },
      ]);
    });
    afterEach(async function () {
      const handlers = await Promise.all(started.values());
      started.clear();
      await Promise.all(handlers.map((handler) => handler.close()));
    });

    // One container per handler and environment within a test, as Lambda keeps warm ones.
    function start(name: "message" | "history", extra: Record<string, string> = {}) {
      const key = `${name} ${JSON.stringify(extra)}`;
      let handler = started.get(key);
      if (!handler) {
        handler = startHandler(name, { ...env, ...extra }, logs);
        started.set(key, handler);
      }
      return handler;
    }

    /** Sends `body` (an object) as `sender`; returns the status and what each connection got. */
    async function send(sender: string, body: Frame, extra: Record<string, string> = {}) {
      api.reset();
      const handler = await start("message", extra);
      const event = websocketEvent(
        "MESSAGE",
        "sendmessage",
        sender,
        JSON.stringify({ action: "sendmessage", ...body }),
      );
      const { statusCode } = await handler.invoke(event);
      const got = (id: string) => (api.delivered.get(id) ?? []).map(parsed);
      return { statusCode, ann: got(ANN), bob: got(BOB), eve: got(EVE) };
    }

    async function history(sender: string, body: Frame = {}, extra: Record<string, string> = {}) {
      api.reset();
      const handler = await start("history", extra);
      const event = websocketEvent(
        "MESSAGE",
        "history",
        sender,
        JSON.stringify({ action: "history", ...body }),
      );
      const { statusCode } = await handler.invoke(event);
      const frames = (api.delivered.get(sender) ?? []).map((f) => JSON.parse(f) as Frame);
      return { statusCode, frames };
    }

    it("numbers each room's messages from 1 in its frames, and history says the latest", async function () {
      const first = await send(ANN, { data: "one" });
      assert.equal(first.ann[0].seq, 1);
      assert.equal(first.bob.length, 1, "a plain client still gets the raw text");
      assert.equal((await send(BOB, { data: "two" })).ann[0].seq, 2);
      assert.equal((await send(EVE, { data: "elsewhere" })).eve[0].seq, 1);
      const { frames } = await history(ANN);
      assert.deepEqual(
        frames.map((f) => [f.type, f.latestSeq, "since" in f, "complete" in f]),
        [["history", 2, false, false]],
      );
      assert.deepEqual(
        (frames[0].messages as Frame[]).map((m) => [m.seq, m.data]),
        [
          [1, "one"],
          [2, "two"],
        ],
      );
    });

    it("since: the messages after it, complete when none is missing, and says so when none came", async function () {
      for (let i = 1; i <= 5; i++) await send(ANN, { data: `m${i}` });
      const resumed = (await history(BOB, { since: 2 })).frames;
      assert.equal(resumed.length, 1);
      const { messages, ...state } = resumed[0];
      assert.deepEqual(state, {
        type: "history",
        room: "lobby",
        since: 2,
        complete: true,
        latestSeq: 5,
      });
      assert.deepEqual(
        (messages as Frame[]).map((m) => m.seq),
        [3, 4, 5],
      );
      const upToDate = (await history(ANN, { since: 5 })).frames[0];
      assert.deepEqual([upToDate.messages, upToDate.complete], [[], true]);
      // A since past the latest: the room's sequence started over (or the client is wrong).
      assert.equal((await history(ANN, { since: 9 })).frames[0].complete, false);
      const largest = await history(ANN, { since: Number.MAX_SAFE_INTEGER });
      assert.deepEqual([largest.statusCode, largest.frames[0].complete], [200, false]);
    });

    it("since with history off: nothing to replay, so complete only when nothing was missed", async function () {
      const zero = { HISTORY_RETENTION_SECONDS: "0" };
      await send(ANN, { data: "one" }, zero);
      await send(ANN, { data: "two" }, zero);
      assert.deepEqual((await history(ANN, { since: 1 }, zero)).frames[0], {
        type: "history",
        room: "lobby",
        messages: [],
        since: 1,
        complete: false,
        latestSeq: 2,
      });
      assert.equal((await history(ANN, { since: 2 }, zero)).frames[0].complete, true);
    });

    it("refuses a since that is not a whole number from 0, naming it", async function () {
      for (const since of [-1, 1.5, "3", null, [1], 2 ** 60]) {
        const { statusCode, frames } = await history(ANN, { since });
        assert.equal(statusCode, 400, JSON.stringify(since));
        assert.equal(frames[0].type, "error");
        assert.match(String(frames[0].message), /"since" must be/);
      }
    });

    it("acks a message with a clientId once stored, and a resend with the first ack, broadcasting nothing", async function () {
      const sent = await send(ANN, { data: "hi", clientId: CLIENT_ID });
      // The ack and the broadcast go out side by side: in either order.
      const broadcast = sent.ann.find((f) => f.type === "message")!;
      const ack = sent.ann.find((f) => f.type === "ack")!;
      assert.equal(sent.ann.length, 2);
      assert.deepEqual(ack, {
        type: "ack",
        clientId: CLIENT_ID,
        id: broadcast.id,
        seq: 1,
        duplicate: false,
      });
      assert.equal(sent.bob.length, 1, "broadcast once");
      assert.ok(!("clientId" in broadcast), "the clientId stays the sender's");

      const again = await send(ANN, { data: "hi", clientId: CLIENT_ID });
      assert.equal(again.statusCode, 200);
      assert.deepEqual(again.ann, [{ ...ack, duplicate: true }]);
      assert.deepEqual([again.bob, again.eve], [[], []], "not broadcast again");

      const plain = await send(BOB, { data: "hi", clientId: CLIENT_ID });
      assert.deepEqual(plain.bob, [{ ...ack, duplicate: true }], "a plain sender: the same JSON");

      const otherRoom = await send(EVE, { data: "hi", clientId: CLIENT_ID });
      assert.equal(otherRoom.eve.find((f) => f.type === "ack")!.duplicate, false, "another room");
      assert.equal((await send(ANN, { data: "new", clientId: "another-id-1" })).ann[0].seq, 2);
    });

    it("refuses a clientId outside 8-64 of A-Z a-z 0-9 _ -, naming it, and broadcasts nothing", async function () {
      for (const clientId of ["short", "x".repeat(65), "has space!", 12345678, null, ""]) {
        const { statusCode, ann, bob } = await send(ANN, { data: "hi", clientId });
        assert.equal(statusCode, 400, JSON.stringify(clientId));
        assert.deepEqual(bob, []);
        assert.equal(ann.length, 1);
        assert.equal(ann[0].error, "BadRequest");
        assert.match(String(ann[0].message), /"clientId" must be 8 to 64/);
      }
      assert.deepEqual(
        (await dynamo.items(env.HISTORY_TABLE_NAME)).filter((i) => i.id.startsWith("s#")),
        [],
      );
    });

    it("echoes the clientId in every refusal", async function () {
      const noData = await send(ANN, { clientId: CLIENT_ID });
      assert.deepEqual([noData.ann[0].error, noData.ann[0].clientId], ["BadRequest", CLIENT_ID]);
      const limited = { RATE_LIMIT_BURST: "1", RATE_LIMIT_PER_SECOND: "0.001" };
      await send(BOB, { data: "uses the burst" }, limited);
      const refused = await send(BOB, { data: "over", clientId: CLIENT_ID }, limited);
      assert.deepEqual([refused.bob[0].error, refused.bob[0].clientId], ["RateLimited", CLIENT_ID]);
    });

    describe("a first attempt that stopped part-way (its container ended)", function () {
      const room = "lobby";
      const claim = (until: number, after = 0) =>
        dynamo.client.send(
          new PutItemCommand({
            TableName: env.HISTORY_TABLE_NAME,
            Item: {
              room: { S: room },
              id: { S: `c#${CLIENT_ID}` },
              until: { N: String(until) },
              after: { N: String(after) },
              expiresAt: { N: String(Math.ceil(Date.now() / 1000) + 3600) },
            },
          }),
        );

      it("before storing: the resend is stored and broadcast, once", async function () {
        await claim(Date.now() - 1);
        const sent = await send(ANN, { data: "late", clientId: CLIENT_ID });
        assert.equal(sent.bob.length, 1);
        assert.equal(sent.ann.find((f) => f.type === "ack")!.duplicate, false);
        const again = await send(ANN, { data: "late", clientId: CLIENT_ID });
        assert.deepEqual(again.bob, []);
      });

      it("after storing: the stored message is the answer, not broadcast again", async function () {
        await claim(Date.now() - 1);
        const store = new HistoryStore(dynamo.client, env.HISTORY_TABLE_NAME, 3600);
        const frame = (seq: number) =>
          messageFrame({ room, from: "Ann", dataJson: '"x"', sentAt: "", id: "ID1", seq });
        const seq = await store.append({
          room,
          id: "ID1",
          sentAtMs: Date.now(),
          clientId: CLIENT_ID,
          frame,
        });
        const sent = await send(ANN, { data: "x", clientId: CLIENT_ID });
        assert.deepEqual(sent.ann, [
          { type: "ack", clientId: CLIENT_ID, id: "ID1", seq, duplicate: true },
        ]);
        assert.deepEqual(sent.bob, []);
      });

      it("still under way (before its deadline): told to ask again, nothing broadcast", async function () {
        await claim(Date.now() + 60_000);
        const sent = await send(ANN, { data: "x", clientId: CLIENT_ID });
        assert.equal(sent.statusCode, 409);
        assert.deepEqual([sent.ann[0].error, sent.ann[0].clientId], ["SendPending", CLIENT_ID]);
        assert.deepEqual(sent.bob, []);
      });
    });
  });
