import { DeleteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { strict as assert } from "assert";
import { MessageRateLimiter, RateDecision } from "../handlers/lib/rate-limit";
import { dynamoBackends, TEST_CREDENTIALS, TEST_REGION, TestDynamo } from "./support/dynamo";

const T0 = 1_700_000_000_000; // a message time in epoch ms
const LIVE = 4_000_000_000; // an expiry far in the future (epoch seconds)

for (const backend of dynamoBackends()) {
  describe(`MessageRateLimiter (token bucket in the connection record, ${backend})`, function () {
    let dynamo: TestDynamo;
    let tableName: string;
    const id = "R1kmxc2VNjMCFIA=";

    before(async function () {
      dynamo = await TestDynamo.start(backend);
    });
    after(async function () {
      await dynamo.stop();
    });
    beforeEach(async function () {
      tableName = await dynamo.createConnectionsTable("rate");
      await dynamo.putConnections(tableName, [{ id, expiresAt: LIVE }]);
    });

    function limiter(burst = 10, perSecond = 1, client = dynamo.client): MessageRateLimiter {
      return new MessageRateLimiter(client, tableName, { burst, perSecond });
    }

    async function takeMany(l: MessageRateLimiter, count: number, at: number) {
      const outcomes: RateDecision[] = [];
      for (let i = 0; i < count; i++) outcomes.push(await l.take(id, at));
      return outcomes;
    }

    const allowed = (outcomes: RateDecision[]) =>
      outcomes.filter((o) => o.outcome === "allowed").length;

    it("lets a burst of 10 through at once and then refuses, saying a token is back in 1 s", async function () {
      const l = limiter();
      const outcomes = await takeMany(l, 11, T0);
      assert.equal(allowed(outcomes.slice(0, 10)), 10);
      assert.deepEqual(outcomes[10], { outcome: "limited", retryAfterMs: 1000 });
      assert.deepEqual(await l.take(id, T0 + 400), { outcome: "limited", retryAfterMs: 600 });
    });

    it("refills one message per second after the burst, and never more than the burst", async function () {
      const l = limiter();
      await takeMany(l, 10, T0);
      assert.equal(allowed(await takeMany(l, 2, T0 + 1000)), 1, "one token back after 1 s");
      assert.equal(allowed(await takeMany(l, 4, T0 + 4000)), 3, "three more by 4 s");
      // An hour idle fills the bucket, but only to the burst.
      assert.equal(allowed(await takeMany(l, 15, T0 + 3_600_000)), 10);
    });

    it("keeps a sustained 1 message per second going forever", async function () {
      const l = limiter();
      await takeMany(l, 10, T0);
      for (let s = 1; s <= 30; s++) {
        assert.deepEqual(await l.take(id, T0 + s * 1000), { outcome: "allowed" }, `second ${s}`);
      }
      assert.equal((await l.take(id, T0 + 30_000)).outcome, "limited");
    });

    it("honours other settings (burst 3, 4 per second)", async function () {
      const l = limiter(3, 4);
      assert.equal(allowed(await takeMany(l, 5, T0)), 3);
      assert.deepEqual(await l.take(id, T0), { outcome: "limited", retryAfterMs: 250 });
      assert.equal(allowed(await takeMany(l, 2, T0 + 250)), 1);
    });

    it("lets exactly the burst through when many containers take tokens for one connection at once", async function () {
      // Each container has its own client (and sockets); the record is the only shared state.
      const containers = Array.from(
        { length: 4 },
        () =>
          new DynamoDBClient({
            endpoint: dynamo.endpoint,
            region: TEST_REGION,
            credentials: TEST_CREDENTIALS,
          }),
      );
      try {
        const limiters = containers.map((client) => limiter(10, 1, client));
        const outcomes = await Promise.all(
          Array.from({ length: 40 }, (_, i) => limiters[i % limiters.length].take(id, T0)),
        );
        assert.equal(allowed(outcomes), 10);
        for (const o of outcomes.filter((o) => o.outcome !== "allowed"))
          assert.equal(o.outcome, "limited");
        const later = await Promise.all(
          Array.from({ length: 12 }, (_, i) => limiters[i % limiters.length].take(id, T0 + 5000)),
        );
        assert.equal(allowed(later), 5, "five tokens back after 5 s, spent once each");
      } finally {
        for (const client of containers) client.destroy();
      }
    });

    it("needs no read of its own when given the record just read, and still holds if that read is stale", async function () {
      const reads: string[] = [];
      const counting = {
        send: (command: { constructor: { name: string } }) => {
          if (command.constructor.name === "GetItemCommand") reads.push(command.constructor.name);
          return dynamo.client.send(command as never);
        },
      } as unknown as DynamoDBClient;
      const l = limiter(2, 1, counting);
      assert.deepEqual(await l.take(id, T0, {}), { outcome: "allowed" });
      assert.deepEqual(await l.take(id, T0, { rateFullAt: T0 + 1000 }), { outcome: "allowed" });
      assert.deepEqual(reads, [], "both decided on the state handed in");
      // Another container spent the rest since: the stale state's write fails, a read decides.
      assert.deepEqual(await l.take(id, T0, { rateFullAt: T0 + 1000 }), {
        outcome: "limited",
        retryAfterMs: 1000,
      });
      assert.deepEqual(reads, ["GetItemCommand"]);
    });

    it("answers unknown for a connection without a record, and creates none", async function () {
      const l = limiter();
      assert.deepEqual(await l.take("gone+/0000000000=", T0), { outcome: "unknown" });
      assert.deepEqual(await dynamo.ids(tableName), [id]);
    });

    it("never brings back a record deleted between its read and its write ($disconnect racing a message)", async function () {
      // A client that lets the read through, then deletes the record before the write arrives.
      let reads = 0;
      const racing = {
        send: async (command: { constructor: { name: string } }) => {
          const result = await dynamo.client.send(command as never);
          if (command.constructor.name === "GetItemCommand" && ++reads === 1)
            await dynamo.client.send(
              new DeleteItemCommand({ TableName: tableName, Key: { connectionId: { S: id } } }),
            );
          return result;
        },
      } as unknown as DynamoDBClient;
      assert.deepEqual(await limiter(10, 1, racing).take(id, T0), { outcome: "unknown" });
      assert.deepEqual(await dynamo.ids(tableName), []);
    });

    it("keeps the bucket in its own attribute and leaves the rest of the record alone", async function () {
      await takeMany(limiter(), 3, T0);
      const [record] = await dynamo.items(tableName);
      assert.deepEqual(record, {
        connectionId: id,
        expiresAt: String(LIVE),
        room: "general",
        name: "anonymous",
        member: `plain#${id}`,
        rateFullAt: String(T0 + 3000),
      });
    });

    it("refuses to be built without a limit (0 turns the limit off)", function () {
      assert.throws(() => limiter(0, 1), /above 0/);
      assert.throws(() => limiter(10, 0), /above 0/);
    });
  });
}
