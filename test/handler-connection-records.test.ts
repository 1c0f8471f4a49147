import { strict as assert } from "assert";
import { dynamoBackends, TestDynamo } from "./support/dynamo";
import { startHandler, websocketEvent } from "./support/handlers";

/** A `$connect` event whose URL carried `query`. */
function connectEvent(connectionId: string, query: Record<string, string>) {
  return { ...websocketEvent("CONNECT", "$connect", connectionId), queryStringParameters: query };
}

for (const backend of dynamoBackends()) {
  describe(`$connect and $disconnect handlers (${backend})`, function () {
    let dynamo: TestDynamo;
    let tableName: string;

    before(async function () {
      dynamo = await TestDynamo.start(backend);
    });
    after(async function () {
      await dynamo.stop();
    });
    beforeEach(async function () {
      tableName = await dynamo.createConnectionsTable("connections");
    });

    function environment(overrides: Record<string, string> = {}): Record<string, string> {
      return { TABLE_NAME: tableName, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, ...overrides };
    }

    it("connect stores the connection id, its connect time, when it wrote it and an expiry TTL seconds later", async function () {
      const connect = await startHandler("connect", environment({ CONNECTION_TTL_SECONDS: "600" }));
      try {
        const event = websocketEvent("CONNECT", "$connect", "R1kmxc2VNjMCFIA=");
        const before = Date.now();
        const result = await connect.invoke(event);
        const after = Date.now();
        assert.equal(result.statusCode, 200);
        const connectedAt = event.requestContext.connectedAt;
        const [{ recordedAt, ...item }, ...more] = await dynamo.items(tableName);
        assert.deepEqual(more, []);
        assert.deepEqual(item, {
          connectionId: "R1kmxc2VNjMCFIA=",
          room: "general",
          name: "anonymous",
          member: "plain#R1kmxc2VNjMCFIA=",
          connectedAt: String(connectedAt),
          expiresAt: String(Math.floor(connectedAt / 1000) + 600),
        });
        // The Gone cleanup spares records younger than GONE_GRACE_MS by this time.
        assert.ok(Number(recordedAt) >= before && Number(recordedAt) <= after, recordedAt);
      } finally {
        await connect.close();
      }
    });

    it("connect records the room and name the query asks for, the name trimmed", async function () {
      const connect = await startHandler("connect", environment());
      try {
        const event = connectEvent("R1kmxc2VNjMCFIA=", { room: "team-a.2", name: "  Zoë 🙂  " });
        assert.equal((await connect.invoke(event)).statusCode, 200);
        const [item] = await dynamo.items(tableName);
        assert.equal(item.room, "team-a.2");
        assert.equal(item.name, "Zoë 🙂");
      } finally {
        await connect.close();
      }
    });

    for (const [what, query] of [
      ["a room with a space", { room: "team a" }],
      ["a room of 65 characters", { room: "r".repeat(65) }],
      ["a room with a slash", { room: "a/b" }],
      ["a name of 33 characters", { name: "n".repeat(33) }],
      ["a name with a newline", { name: "eve\nadmin" }],
      ["a name with a bidi override", { name: "abc\u202Edef" }],
    ] as const) {
      it(`connect refuses ${what} with 400 and stores nothing`, async function () {
        const connect = await startHandler("connect", environment());
        try {
          const result = await connect.invoke(connectEvent("R1kmxc2VNjMCFIA=", query));
          assert.equal(result.statusCode, 400);
          assert.match(result.body, /^Invalid (room|name)/);
          assert.deepEqual(await dynamo.items(tableName), []);
        } finally {
          await connect.close();
        }
      });
    }

    it("connect selects chat.v1 when the client offers it, and records the client as structured", async function () {
      const connect = await startHandler("connect", environment());
      try {
        const event = {
          ...connectEvent("R1kmxc2VNjMCFIA=", {}),
          headers: { "sec-websocket-protocol": "chat.v0, chat.v1" },
        };
        const result = await connect.invoke(event);
        assert.equal(result.statusCode, 200);
        assert.deepEqual((result as { headers?: Record<string, string> }).headers, {
          "Sec-WebSocket-Protocol": "chat.v1",
        });
        const [item] = await dynamo.items(tableName);
        assert.equal(item.protocol, "chat.v1");
      } finally {
        await connect.close();
      }
    });

    it("connect selects no subprotocol for a client that offers none, or only others", async function () {
      const connect = await startHandler("connect", environment());
      try {
        for (const headers of [{}, { "Sec-WebSocket-Protocol": "graphql-ws" }]) {
          const id = `R1kmxc2VNjMCFI${Object.keys(headers).length}=`;
          const event = { ...connectEvent(id, {}), headers };
          const result = await connect.invoke(event);
          assert.equal(result.statusCode, 200);
          assert.equal((result as { headers?: unknown }).headers, undefined);
        }
        for (const item of await dynamo.items(tableName)) assert.equal(item.protocol, undefined);
      } finally {
        await connect.close();
      }
    });

    it("connect takes the authorizer's name over the query's", async function () {
      const connect = await startHandler("connect", environment());
      try {
        const event = connectEvent("R1kmxc2VNjMCFIA=", { name: "mallory" });
        Object.assign(event.requestContext, { authorizer: { name: "Alice Liddell", sub: "u-1" } });
        assert.equal((await connect.invoke(event)).statusCode, 200);
        const [item] = await dynamo.items(tableName);
        assert.equal(item.name, "Alice Liddell");
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
}
