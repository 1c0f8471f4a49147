import { strict as assert } from "assert";
import { TestDynamo } from "./support/dynamo";
import { startHandler, websocketEvent } from "./support/handlers";

describe("$connect and $disconnect handlers", function () {
  let dynamo: TestDynamo;
  let tableCount = 0;
  let tableName: string;

  before(async function () {
    dynamo = await TestDynamo.start();
  });
  after(async function () {
    await dynamo.stop();
  });
  beforeEach(async function () {
    tableName = `connections-${++tableCount}`;
    await dynamo.createConnectionsTable(tableName);
  });

  function environment(overrides: Record<string, string> = {}): Record<string, string> {
    return { TABLE_NAME: tableName, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, ...overrides };
  }

  it("connect stores the connection id, its connect time and an expiry TTL seconds later", async function () {
    const connect = await startHandler("connect", environment({ CONNECTION_TTL_SECONDS: "600" }));
    try {
      const event = websocketEvent("CONNECT", "$connect", "R1kmxc2VNjMCFIA=");
      const result = await connect.invoke(event);
      assert.equal(result.statusCode, 200);
      const connectedAt = event.requestContext.connectedAt;
      assert.deepEqual(await dynamo.items(tableName), [
        {
          connectionId: "R1kmxc2VNjMCFIA=",
          connectedAt: String(connectedAt),
          expiresAt: String(Math.floor(connectedAt / 1000) + 600),
        },
      ]);
    } finally {
      await connect.close();
    }
  });

  it("connect expires records just after API Gateway's 2-hour maximum by default", async function () {
    const connect = await startHandler("connect", environment());
    try {
      const event = websocketEvent("CONNECT", "$connect", "a+b/c2VNjMCFIA=");
      await connect.invoke(event);
      const [item] = await dynamo.items(tableName);
      const ttl = Number(item.expiresAt) - Math.floor(event.requestContext.connectedAt / 1000);
      assert.ok(ttl > 2 * 60 * 60 && ttl <= 2 * 60 * 60 + 15 * 60, `TTL ${ttl} s`);
    } finally {
      await connect.close();
    }
  });

  it("connect answers 500, refusing the handshake, when the record cannot be written, and logs why", async function () {
    const connect = await startHandler("connect", environment({ TABLE_NAME: "no-such-table" }));
    try {
      const result = await connect.invoke(
        websocketEvent("CONNECT", "$connect", "R1kmxc2VNjMCFIA="),
      );
      assert.equal(result.statusCode, 500);
      const failure = await connect.logs.entry("connect_failed");
      assert.equal(failure.connectionId, "R1kmxc2VNjMCFIA=");
      assert.equal(failure.errorName, "ResourceNotFoundException");
    } finally {
      await connect.close();
    }
  });

  it("disconnect deletes that connection's record and no other", async function () {
    await dynamo.putConnections(tableName, [
      { id: "leaving00000000=", expiresAt: 4_000_000_000 },
      { id: "staying00000000=", expiresAt: 4_000_000_000 },
    ]);
    const disconnect = await startHandler("disconnect", environment());
    try {
      const result = await disconnect.invoke(
        websocketEvent("DISCONNECT", "$disconnect", "leaving00000000="),
      );
      assert.equal(result.statusCode, 200);
      assert.deepEqual(await dynamo.ids(tableName), ["staying00000000="]);
    } finally {
      await disconnect.close();
    }
  });

  it("disconnect still answers 200 when the record cannot be deleted, and logs why", async function () {
    const disconnect = await startHandler(
      "disconnect",
      environment({ TABLE_NAME: "no-such-table" }),
    );
    try {
      const result = await disconnect.invoke(
        websocketEvent("DISCONNECT", "$disconnect", "leaving00000000="),
      );
      assert.equal(result.statusCode, 200);
      const failure = await disconnect.logs.entry("disconnect_failed");
      assert.equal(failure.connectionId, "leaving00000000=");
      assert.equal(failure.errorName, "ResourceNotFoundException");
    } finally {
      await disconnect.close();
    }
  });
});
