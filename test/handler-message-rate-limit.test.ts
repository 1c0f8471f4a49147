import { strict as assert } from "assert";
import { FakeConnectionsApi } from "./support/connections-api";
import { dynamoBackends, TestDynamo } from "./support/dynamo";
import { startHandler, TestHandler, websocketEvent } from "./support/handlers";
import { CapturedLog } from "./support/captured-log";

const LIVE = 4_000_000_000; // an expiry far in the future (epoch seconds)
const T0 = 1_700_000_000_000;
const SENDER = "s+/0000000000000=";
const OTHER = "o+/0000000000000=";

for (const backend of dynamoBackends()) {
  describe(`message route handler: the per-connection rate limit (${backend})`, function () {
    let dynamo: TestDynamo;
    let api: FakeConnectionsApi;
    let handler: TestHandler | undefined;
    let logs = new CapturedLog();
    let tableName: string;

    before(async function () {
      [dynamo, api] = await Promise.all([TestDynamo.start(backend), FakeConnectionsApi.start()]);
    });
    after(async function () {
      await Promise.all([dynamo.stop(), api.stop()]);
    });
    beforeEach(async function () {
      api.reset();
      logs = new CapturedLog();
      tableName = await dynamo.createConnectionsTable("connections");
      await dynamo.putConnections(tableName, [
        { id: SENDER, expiresAt: LIVE },
        { id: OTHER, expiresAt: LIVE },
      ]);
    });
    afterEach(async function () {
      await handler?.close();
      handler = undefined;
    });

    async function start(
      burst: string,
      perSecond: string,
      table = tableName,
    ): Promise<TestHandler> {
      handler = await startHandler(
        "message",
        {
          TABLE_NAME: table,
          MANAGEMENT_ENDPOINT: api.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          RATE_LIMIT_BURST: burst,
          RATE_LIMIT_PER_SECOND: perSecond,
        },
        logs,
      );
      return handler;
    }

    function message(data: string, at: number, sender = SENDER) {
      const event = websocketEvent(
        "MESSAGE",
        "sendmessage",
        sender,
        JSON.stringify({ action: "sendmessage", data }),
      );
      event.requestContext.requestTimeEpoch = at;
      return event;
    }

    it("broadcasts up to the burst, then answers 429 and tells only the sender when to retry", async function () {
      const h = await start("2", "1");
      assert.equal((await h.invoke(message("one", T0))).statusCode, 200);
      assert.equal((await h.invoke(message("two", T0 + 100))).statusCode, 200);
      const limited = await h.invoke(message("three", T0 + 250));
      assert.equal(limited.statusCode, 429);
      assert.deepEqual(api.delivered.get(OTHER), ["one", "two"]);
      const [, , reply] = api.delivered.get(SENDER)!;
      assert.deepEqual(JSON.parse(reply), {
        error: "RateLimited",
        message:
          "Too many messages (at most 2 at once, then 1 a second): this one was not sent. Send it again in 0.8 s.",
        retryAfterMs: 750,
      });
      assert.deepEqual(await logs.entry("rate_limited"), {
        event: "rate_limited",
        connectionId: SENDER,
        retryAfterMs: 750,
      });
      // At the time it was told, it is heard again.
      assert.equal((await h.invoke(message("four", T0 + 1000))).statusCode, 200);
      assert.deepEqual(api.delivered.get(OTHER), ["one", "two", "four"]);
    });

    it("uses API Gateway's request time, the one clock every container shares", async function () {
      const h = await start("1", "1");
      assert.equal((await h.invoke(message("now", T0))).statusCode, 200);
      // Invoked later by the wall clock, but sent within the same second: still too soon.
      assert.equal((await h.invoke(message("too soon", T0 + 999))).statusCode, 429);
      assert.equal((await h.invoke(message("in time", T0 + 1000))).statusCode, 200);
    });

    it("refuses a sender the table has no record of, telling it to reconnect, and broadcasts nothing", async function () {
      const h = await start("10", "1");
      const result = await h.invoke(message("ghost", T0, "g+/0000000000000="));
      assert.equal(result.statusCode, 410);
      assert.deepEqual([...api.delivered.keys()], ["g+/0000000000000="]);
      assert.equal(JSON.parse(api.delivered.get("g+/0000000000000=")![0]).error, "NotConnected");

      assert.deepEqual(await dynamo.ids(tableName), [OTHER, SENDER].sort(), "no record created");
    });

    it("answers 500, broadcasts nothing and tells the sender why when the limit cannot be read", async function () {
      const h = await start("10", "1", "no-such-table");
      assert.equal((await h.invoke(message("lost?", T0))).statusCode, 500);
      // Only the sender hears of it: why, in an error reply.
      assert.deepEqual([...api.delivered.keys()], [SENDER]);
      assert.equal(JSON.parse(api.delivered.get(SENDER)![0]).error, "BroadcastFailed");
      await logs.entry("broadcast_failed", { errorName: "ResourceNotFoundException" });
    });

    it("broadcasts every message and writes no bucket when the limit is off (0)", async function () {
      const h = await start("0", "1");
      for (let i = 0; i < 12; i++) {
        assert.equal((await h.invoke(message(`m${i}`, T0))).statusCode, 200);
      }
      assert.equal(api.delivered.get(OTHER)?.length, 12);
      for (const item of await dynamo.items(tableName))
        assert.equal(item.rateFullAt, undefined, "no bucket written");
    });
  });
}
