import { strict as assert } from "assert";
import { GONE_GRACE_MS } from "../handlers/lib/connection-store";
import { CapturedLog } from "./support/captured-log";
import { FakeConnectionsApi } from "./support/connections-api";
import { dynamoBackends, TestDynamo } from "./support/dynamo";
import { HandlerResult, TestHandler, startHandler, websocketEvent } from "./support/handlers";

const LIVE = 4_000_000_000; // an expiry far in the future (epoch seconds)

function ids(prefix: string, count: number): string[] {
  // 16 characters ending in "=", like API Gateway's; "+" and "/" make URL-encoding bugs show.
  return Array.from(
    { length: count },
    (_, i) => `${prefix}+/${String(i).padStart(15 - prefix.length - 2, "0")}=`,
  );
}

for (const backend of dynamoBackends()) {
  describe(`message route handler (broadcast) (${backend})`, function () {
    let dynamo: TestDynamo;
    let api: FakeConnectionsApi;
    let tableName: string;
    // What the handlers of the current test logged; they stay up until it ends, so that their
    // output (which arrives apart from their results) is all there when a test looks.
    let logs: CapturedLog;
    const handlers: TestHandler[] = [];

    before(async function () {
      [dynamo, api] = await Promise.all([TestDynamo.start(backend), FakeConnectionsApi.start()]);
    });
    after(async function () {
      await Promise.all([dynamo.stop(), api.stop()]);
    });
    beforeEach(async function () {
      logs = new CapturedLog();
      api.reset();
      tableName = await dynamo.createConnectionsTable("connections");
    });
    afterEach(async function () {
      await Promise.all(handlers.splice(0).map((handler) => handler.close()));
    });

    async function sendMessage(
      sender: string,
      body: string,
      extraEnv: Record<string, string> = {},
    ): Promise<HandlerResult> {
      const handler = await startHandler(
        "message",
        {
          TABLE_NAME: tableName,
          MANAGEMENT_ENDPOINT: api.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          ...extraEnv,
        },
        logs,
      );
      handlers.push(handler);
      return handler.invoke(websocketEvent("MESSAGE", "sendmessage", sender, body));
    }

    it("delivers data to every connection of the room, the sender included, across many Query pages", async function () {
      const everyone = ids("p", 23);
      await dynamo.putConnections(
        tableName,
        everyone.map((id) => ({ id, expiresAt: LIVE })),
      );
      const result = await sendMessage(
        everyone[0],
        JSON.stringify({ action: "sendmessage", data: "hello world" }),
        {
          QUERY_PAGE_SIZE: "4",
        },
      );
      assert.equal(result.statusCode, 200);
      assert.deepEqual([...api.delivered.keys()].sort(), everyone.slice().sort());
      for (const id of everyone) assert.deepEqual(api.delivered.get(id), ["hello world"], id);
    });

    it("reaches only the sender's room: other rooms and the default room hear nothing", async function () {
      const [red, blue, general] = [ids("r", 5), ids("u", 4), ids("g", 3)];
      await dynamo.putConnections(tableName, [
        ...red.map((id) => ({ id, expiresAt: LIVE, room: "red" })),
        ...blue.map((id) => ({ id, expiresAt: LIVE, room: "blue" })),
        ...general.map((id) => ({ id, expiresAt: LIVE })),
      ]);
      const result = await sendMessage(red[2], JSON.stringify({ data: "in red" }), {
        QUERY_PAGE_SIZE: "2",
      });
      assert.equal(result.statusCode, 200);
      assert.deepEqual([...api.delivered.keys()].sort(), red.slice().sort());
      api.reset();
      await sendMessage(general[0], JSON.stringify({ data: "in general" }));
      assert.deepEqual([...api.delivered.keys()].sort(), general.slice().sort());
    });

    it("tells a sender whose record is gone to reconnect, and broadcasts nothing", async function () {
      const everyone = ids("n", 3);
      await dynamo.putConnections(
        tableName,
        everyone.slice(1).map((id) => ({ id, expiresAt: LIVE })),
      );
      const result = await sendMessage(everyone[0], JSON.stringify({ data: "hello?" }));
      assert.equal(result.statusCode, 410);
      assert.deepEqual([...api.delivered.keys()], [everyone[0]]);
      assert.equal(JSON.parse(api.delivered.get(everyone[0])![0]).error, "NotConnected");
    });

    it("sends a string as-is and any other JSON value as JSON text", async function () {
      const [only] = ids("j", 1);
      await dynamo.putConnections(tableName, [{ id: only, expiresAt: LIVE }]);
      await sendMessage(
        only,
        JSON.stringify({ action: "sendmessage", data: { text: "hi", n: [1, 2] } }),
      );
      await sendMessage(
        only,
        JSON.stringify({ action: "sendmessage", data: '{"already":"text"}' }),
      );
      assert.deepEqual(api.delivered.get(only), ['{"text":"hi","n":[1,2]}', '{"already":"text"}']);
    });

    it("deletes exactly the recipients that are gone, and keeps delivering to the rest", async function () {
      const everyone = ids("g", 10);
      await dynamo.putConnections(
        tableName,
        everyone.map((id) => ({ id, expiresAt: LIVE })),
      );
      const gone = [everyone[2], everyone[7]];
      for (const id of gone) api.answer(id, 410);
      const result = await sendMessage(everyone[0], JSON.stringify({ data: "hi" }), {
        QUERY_PAGE_SIZE: "3",
      });
      assert.equal(result.statusCode, 200);
      const expected = everyone.filter((id) => !gone.includes(id));
      assert.deepEqual([...api.delivered.keys()].sort(), expected.slice().sort());
      assert.deepEqual(await dynamo.ids(tableName), expected.slice().sort());
    });

    it("cleans up through the room index: a gone member of the sender's room goes, other rooms are not touched", async function () {
      const [red, blue] = [ids("rg", 4), ids("bg", 2)];
      await dynamo.putConnections(tableName, [
        ...red.map((id) => ({ id, expiresAt: LIVE, room: "red" })),
        ...blue.map((id) => ({ id, expiresAt: LIVE, room: "blue" })),
      ]);
      // Gone, both of them; only the one in the sender's room is ever asked.
      api.answer(red[3], 410);
      api.answer(blue[1], 410);
      await sendMessage(red[0], JSON.stringify({ data: "red only" }), { QUERY_PAGE_SIZE: "2" });
      assert.equal(api.attempts.get(blue[1]), undefined, "no post outside the room");
      assert.deepEqual(
        await dynamo.ids(tableName),
        [...red.slice(0, 3), ...blue].sort(),
        "the gone member of red is deleted, blue's is still there",
      );
    });

    it("keeps the record of a 410 recipient written less than GONE_GRACE_MS ago, the sender's own too", async function () {
      const [sender, joining, left, stays] = ids("y", 4);
      const now = Date.now();
      const young = now - 1_000;
      const old = now - GONE_GRACE_MS - 1_000;
      await dynamo.putConnections(tableName, [
        { id: sender, expiresAt: LIVE, recordedAt: young },
        { id: joining, expiresAt: LIVE, recordedAt: young },
        { id: left, expiresAt: LIVE, recordedAt: old },
        { id: stays, expiresAt: LIVE, recordedAt: old },
      ]);
      // API Gateway answers 410 until $connect has returned.
      for (const id of [sender, joining, left]) api.answer(id, 410);
      const result = await sendMessage(sender, JSON.stringify({ data: "hi" }));
      assert.equal(result.statusCode, 200);
      assert.deepEqual([...api.delivered.keys()], [stays]);
      assert.deepEqual(await dynamo.ids(tableName), [sender, joining, stays].sort());
      const logged = await logs.entry("broadcast");
      assert.deepEqual([logged.delivered, logged.gone, logged.connecting], [1, 1, 2]);
    });

    it("counts and logs a failing recipient, keeps its record and still reaches the others", async function () {
      const everyone = ids("f", 6);
      await dynamo.putConnections(
        tableName,
        everyone.map((id) => ({ id, expiresAt: LIVE })),
      );
      const failing = everyone[1];
      api.answer(failing, 500);
      const result = await sendMessage(everyone[0], JSON.stringify({ data: "still here" }));
      assert.equal(result.statusCode, 200);
      assert.equal(api.delivered.has(failing), false);
      assert.deepEqual(
        [...api.delivered.keys()].sort(),
        everyone.filter((id) => id !== failing).sort(),
      );
      assert.deepEqual(await dynamo.ids(tableName), everyone.slice().sort());
      const failure = await logs.entry("post_failed");
      assert.equal(failure.connectionId, failing);
      assert.equal(failure.errorName, "InternalServerErrorException");
      const summary = await logs.entry("broadcast");
      assert.equal(summary.delivered, 5);
      assert.equal(summary.failed, 1);
      assert.deepEqual(summary.failures, { InternalServerErrorException: 1 });
    });

    it("retries a throttled (429) recipient and then delivers once", async function () {
      const everyone = ids("t", 3);
      await dynamo.putConnections(
        tableName,
        everyone.map((id) => ({ id, expiresAt: LIVE })),
      );
      api.answer(everyone[1], 429, 200);
      await sendMessage(everyone[0], JSON.stringify({ data: "eventually" }));
      assert.equal(api.attempts.get(everyone[1]), 2);
      assert.deepEqual(api.delivered.get(everyone[1]), ["eventually"]);
      assert.deepEqual(await dynamo.ids(tableName), everyone.slice().sort());
    });

    it("skips records past their expiry that DynamoDB TTL has not yet deleted", async function () {
      const [live, expired] = [ids("l", 2), ids("x", 2)];
      const now = Math.floor(Date.now() / 1000);
      await dynamo.putConnections(tableName, [
        ...live.map((id) => ({ id, expiresAt: now + 3600 })),
        ...expired.map((id) => ({ id, expiresAt: now - 60 })),
      ]);
      await sendMessage(live[0], JSON.stringify({ data: "fresh" }));
      assert.deepEqual([...api.delivered.keys()].sort(), live.slice().sort());
    });

    for (const [what, body] of [
      ["has no data", JSON.stringify({ action: "sendmessage" })],
      ["has null data", JSON.stringify({ action: "sendmessage", data: null })],
      ["is not JSON", "sendmessage hello"],
      ["is a JSON array", "[1,2]"],
    ] as const) {
      it(`answers a message that ${what} with 400 and a JSON error to the sender only`, async function () {
        const everyone = ids("b", 3);
        await dynamo.putConnections(
          tableName,
          everyone.map((id) => ({ id, expiresAt: LIVE })),
        );
        const result = await sendMessage(everyone[0], body);
        assert.equal(result.statusCode, 400);
        assert.deepEqual([...api.delivered.keys()], [everyone[0]]);
        const reply = JSON.parse(api.delivered.get(everyone[0])![0]);
        assert.equal(reply.error, "BadRequest");
        assert.equal(typeof reply.message, "string");
        assert.deepEqual(reply.expected, { action: "sendmessage", data: "hello world" });
        assert.equal(reply.type, undefined, "a plain client's error is today's, with no type");
      });
    }

    it("gives a chat.v1 sender its error as a typed frame", async function () {
      const [sender] = ids("e", 1);
      await dynamo.putConnections(tableName, [{ id: sender, expiresAt: LIVE, structured: true }]);
      await sendMessage(sender, JSON.stringify({ action: "sendmessage" }));
      const reply = JSON.parse(api.delivered.get(sender)![0]);
      assert.equal(reply.type, "error");
      assert.equal(reply.error, "BadRequest");
      assert.deepEqual(reply.expected, { action: "sendmessage", data: "hello world" });
    });

    it("one broadcast gives plain members raw data and chat.v1 members a message frame", async function () {
      const [plain, structured] = [ids("pl", 3), ids("st", 3)];
      await dynamo.putConnections(tableName, [
        ...plain.map((id) => ({ id, expiresAt: LIVE, room: "mixed" })),
        ...structured.map((id, i) => ({
          id,
          expiresAt: LIVE,
          room: "mixed",
          name: `s${i}`,
          structured: true,
        })),
      ]);
      const before = Date.now();
      const event = { data: { text: "hi", n: [1, 2] } };
      assert.equal((await sendMessage(structured[1], JSON.stringify(event))).statusCode, 200);
      for (const id of plain) assert.deepEqual(api.delivered.get(id), ['{"text":"hi","n":[1,2]}']);
      const frames = structured.map((id) => api.delivered.get(id)!);
      for (const received of frames) assert.deepEqual(received, frames[0], "one frame for all");
      const frame = JSON.parse(frames[0][0]);
      assert.deepEqual(Object.keys(frame), ["type", "room", "from", "data", "sentAt", "id"]);
      assert.equal(frame.type, "message");
      assert.equal(frame.room, "mixed");
      assert.equal(frame.from, "s1");
      assert.deepEqual(frame.data, event.data);
      assert.match(frame.sentAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(Date.parse(frame.sentAt) - before) < 60_000);
      assert.match(frame.id, /^[0-9A-Z]{26}$/);
    });

    it("keeps a string's bytes as they are for both formats, and gives every message its own id", async function () {
      const [plain, structured] = [ids("bp", 1)[0], ids("bs", 1)[0]];
      await dynamo.putConnections(tableName, [
        { id: plain, expiresAt: LIVE },
        { id: structured, expiresAt: LIVE, structured: true },
      ]);
      const text = 'a "quoted" \\ line\n\u0001 é 🙂 {"json":"text"}';
      await sendMessage(plain, JSON.stringify({ data: text }));
      await sendMessage(plain, JSON.stringify({ data: text }));
      assert.deepEqual(api.delivered.get(plain), [text, text]);
      const [first, second] = api.delivered.get(structured)!.map((f) => JSON.parse(f));
      assert.equal(first.data, text);
      assert.notEqual(first.id, second.id);
    });

    it("refuses, for everyone, a message whose chat.v1 frame would pass 128 KB, and tells the sender why", async function () {
      const everyone = ids("z", 3);
      await dynamo.putConnections(
        tableName,
        everyone.map((id, i) => ({ id, expiresAt: LIVE, structured: i === 1 })),
      );
      // Under 128 KB as raw text, over it once wrapped in a frame: no plain client gets it either.
      const data = "z".repeat(128 * 1024 - 100);
      const result = await sendMessage(everyone[0], JSON.stringify({ data }));
      assert.equal(result.statusCode, 413);
      assert.deepEqual([...api.delivered.keys()], [everyone[0]]);
      const reply = JSON.parse(api.delivered.get(everyone[0])![0]);
      assert.equal(reply.error, "PayloadTooLarge");
      assert.match(reply.message, /chat\.v1 frame/);
    });

    it("describes the configured message shape in its error ($request.body.message / pushmessage)", async function () {
      const [sender] = ids("c", 1);
      await dynamo.putConnections(tableName, [{ id: sender, expiresAt: LIVE }]);
      await sendMessage(sender, JSON.stringify({ message: "pushmessage" }), {
        ROUTE_SELECTION_EXPRESSION: "$request.body.message",
        MESSAGE_ROUTE: "pushmessage",
      });
      const reply = JSON.parse(api.delivered.get(sender)![0]);
      assert.deepEqual(reply.expected, { message: "pushmessage", data: "hello world" });
    });

    it("posts to MANAGEMENT_ENDPOINT, never to the event's domainName", async function () {
      const [only] = ids("d", 1);
      await dynamo.putConnections(tableName, [{ id: only, expiresAt: LIVE }]);
      await sendMessage(only, JSON.stringify({ data: "via the configured endpoint" }));
      assert.deepEqual(api.delivered.get(only), ["via the configured endpoint"]);
    });

    it("answers 500 with a logged reason and tells the sender, instead of throwing, when the table cannot be read", async function () {
      const result = await sendMessage("r+/000000000000=", JSON.stringify({ data: "lost?" }), {
        TABLE_NAME: "no-such-table",
      });
      assert.equal(result.statusCode, 500);
      // Nobody but the sender hears of it, and the sender in words.
      assert.deepEqual([...api.delivered.keys()], ["r+/000000000000="]);
      const [reply] = api.delivered.get("r+/000000000000=")!;
      const { error, message } = JSON.parse(reply) as { error: string; message: string };
      assert.equal(error, "BroadcastFailed");
      assert.match(
        message,
        /could not be read \(ResourceNotFoundException\).*reached 0 connection/,
      );
      const failure = await logs.entry("broadcast_failed");
      assert.equal(failure.connectionId, "r+/000000000000=");
      assert.equal(failure.errorName, "ResourceNotFoundException");
      assert.equal(failure.delivered, 0);
      assert.ok(!logs.lines.some((line) => line.includes("lost?")), "no message body in the log");
    });
  });
}
