import { strict as assert } from "assert";
import { LocalGateway } from "../local/gateway";
import { WebSocketEvent } from "../local/gateway-events";
import { CapturedLog } from "./support/captured-log";
import { dynamoBackends, TestDynamo } from "./support/dynamo";
import { startHandler, TestHandler } from "./support/handlers";
import { TestClient } from "./support/local-clients";
import { answerTo, latch } from "./support/local-gateway";
import { PROMPTLY_MS, within } from "./support/within";

/**
 * A broadcast that runs while a client's `$connect` has written its record but API Gateway has
 * not yet finished the handshake gets 410 for that client. End to end, with the real bundles,
 * dynalite and the local gateway (which answers 410 for a connection still in `$connect`, as
 * API Gateway does): the client must still get every later message.
 */
for (const backend of dynamoBackends()) {
  describe(`message route and a client still connecting (410 before the handshake ends) (${backend})`, function () {
    let table: string;
    let dynamo: TestDynamo;
    let gateway: LocalGateway;
    let handlers: Record<"connect" | "disconnect" | "message", TestHandler>;
    const logs = new CapturedLog();
    const clients: TestClient[] = [];
    // Set by a test to hold the next $connect after its handler has written the record.
    let hold: { recorded: () => void; released: Promise<void> } | undefined;
    const broadcasts: Promise<unknown>[] = [];

    before(async function () {
      dynamo = await TestDynamo.start(backend);
      table = await dynamo.createConnectionsTable();
      gateway = await LocalGateway.start({
        port: 0,
        stage: "dev",
        routeSelectionExpression: "$request.body.action",
        routes: {
          $connect: async (event: WebSocketEvent) => {
            const result = await handlers.connect.invoke(event);
            const held = hold;
            hold = undefined;
            if (held) {
              held.recorded();
              await held.released;
            }
            return result;
          },
          $disconnect: (event: WebSocketEvent) => handlers.disconnect.invoke(event),
          sendmessage: (event: WebSocketEvent) => {
            const done = handlers.message.invoke(event);
            broadcasts.push(done);
            return done;
          },
        },
      });
      const environment = {
        TABLE_NAME: table,
        MANAGEMENT_ENDPOINT: gateway.managementEndpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      };
      const [connect, disconnect, message] = await Promise.all([
        startHandler("connect", environment, logs),
        startHandler("disconnect", environment, logs),
        startHandler("message", environment, logs),
      ]);
      handlers = { connect, disconnect, message };
    });

    after(async function () {
      await Promise.all(clients.map((client) => client.close()));
      await gateway?.close();
      await Promise.all(Object.values(handlers ?? {}).map((handler) => handler.close()));
      await dynamo?.stop();
    });

    async function connect(): Promise<TestClient> {
      const client = await within(
        PROMPTLY_MS,
        "a client to connect",
        TestClient.connect(gateway.url),
      );
      clients.push(client);
      return client;
    }

    /** Sends a chat message as `from` and waits until the whole broadcast, cleanup included, is done. */
    async function broadcast(from: TestClient, data: string): Promise<void> {
      const before = broadcasts.length;
      await from.send(JSON.stringify({ action: "sendmessage", data }));
      assert.equal(await within(PROMPTLY_MS, `the sender's copy of "${data}"`, from.next()), data);
      await within(
        PROMPTLY_MS,
        `the broadcast of "${data}" to finish`,
        Promise.all(broadcasts.slice(before)),
      );
    }

    it("keeps the connecting client's record through a 410, so it receives the next message", async function () {
      const alice = await connect();

      const { released, release } = latch("bob's $connect");
      let recorded!: () => void;
      const bobRecorded = new Promise<void>((resolve) => (recorded = resolve));
      hold = { recorded, released };
      const bobConnecting = TestClient.connect(gateway.url);
      try {
        await within(PROMPTLY_MS, "bob's $connect to write his record", bobRecorded);
        const [bobId] = (await dynamo.ids(table)).filter(
          (id) => !gateway.connectionIds().includes(id),
        );
        assert.ok(bobId, "bob's record is in the table while his handshake is held");
        // What the broadcast will meet: the gateway, like API Gateway, has no bob to post to yet.
        const post = await answerTo(
          `${gateway.managementEndpoint}/@connections/${encodeURIComponent(bobId)}`,
          {
            method: "POST",
            body: "too early",
          },
        );
        assert.equal(post.status, 410);
        assert.equal(post.headers.get("x-amzn-errortype"), "GoneException");

        await broadcast(alice, "while bob connects");
        assert.ok((await dynamo.ids(table)).includes(bobId), "bob's record survived the 410");
        const counted = await logs.entry("broadcast");
        assert.deepEqual([counted.delivered, counted.gone, counted.connecting], [1, 0, 1]);
      } finally {
        release();
      }
      const bob = await within(PROMPTLY_MS, "bob's handshake to finish", bobConnecting);
      clients.push(bob);
      assert.deepEqual(bob.pending, [], "the early message never reached bob");

      await broadcast(alice, "welcome bob");
      assert.equal(
        await within(PROMPTLY_MS, "bob's copy of the next message", bob.next()),
        "welcome bob",
      );
    });
  });
}
