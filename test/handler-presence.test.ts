import { strict as assert } from "assert";
import { CapturedLog } from "./support/captured-log";
import { FakeConnectionsApi } from "./support/connections-api";
import { dynamoBackends, SeededConnection, TestDynamo } from "./support/dynamo";
import { startHandler, TestHandler, websocketEvent } from "./support/handlers";

const LIVE = 4_000_000_000;
const id = (name: string) => `${name}+/`.padEnd(15, "0") + "=";

// A room with two chat.v1 clients and a plain one, and a chat.v1 client in another room.
const LOBBY: SeededConnection[] = [
  { id: id("ann"), expiresAt: LIVE, room: "lobby", name: "Ann", structured: true },
  { id: id("bob"), expiresAt: LIVE, room: "lobby", name: "Bob", structured: true },
  { id: id("cy"), expiresAt: LIVE, room: "lobby", name: "anonymous" },
  { id: id("dee"), expiresAt: LIVE, room: "lobby", name: "anonymous" },
  { id: id("eve"), expiresAt: LIVE, room: "elsewhere", name: "Eve", structured: true },
];

for (const backend of dynamoBackends()) {
  describe(`presence: who, and joined/left notices from $connect and $disconnect (${backend})`, function () {
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
        MANAGEMENT_ENDPOINT: api.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      };
      await dynamo.putConnections(env.TABLE_NAME, LOBBY);
    });
    afterEach(async function () {
      await Promise.all(handlers.splice(0).map((handler) => handler.close()));
    });

    async function start(
      name: "who" | "connect" | "disconnect",
      extra: Record<string, string> = {},
    ) {
      const handler = await startHandler(name, { ...env, ...extra }, logs);
      handlers.push(handler);
      return handler;
    }

    const frames = (connectionId: string) =>
      (api.delivered.get(connectionId) ?? []).map((frame) => JSON.parse(frame));

    describe("who", function () {
      it("tells the sender only: its room's count and distinct names, sorted", async function () {
        const who = await start("who");
        const result = await who.invoke(
          websocketEvent("MESSAGE", "who", id("cy"), '{"action":"who"}'),
        );
        assert.equal(result.statusCode, 200);
        assert.deepEqual([...api.delivered.keys()], [id("cy")]);
        assert.deepEqual(frames(id("cy")), [
          { type: "presence", room: "lobby", count: 4, names: ["Ann", "Bob", "anonymous"] },
        ]);
      });

      it("lists at most PRESENCE_NAME_LIMIT names, and still counts everyone", async function () {
        const who = await start("who", { PRESENCE_NAME_LIMIT: "2" });
        await who.invoke(websocketEvent("MESSAGE", "who", id("ann"), '{"action":"who"}'));
        assert.deepEqual(frames(id("ann"))[0], {
          type: "presence",
          room: "lobby",
          count: 4,
          names: ["Ann", "Bob"],
        });
      });

      it("tells a sender with no record to reconnect", async function () {
        const who = await start("who");
        const result = await who.invoke(websocketEvent("MESSAGE", "who", id("zed"), "{}"));
        assert.equal(result.statusCode, 410);
        assert.equal(frames(id("zed"))[0].error, "NotConnected");
      });
    });

    describe("notices", function () {
      function connectEvent(connectionId: string, query: Record<string, string>) {
        return {
          ...websocketEvent("CONNECT", "$connect", connectionId),
          queryStringParameters: query,
        };
      }

      it("a join is announced to the room's other chat.v1 clients only, not to the joiner", async function () {
        const connect = await start("connect");
        // Fay speaks chat.v1 too, and is in the room by the time it is read: no notice to herself.
        const event = {
          ...connectEvent(id("fay"), { room: "lobby", name: "Fay" }),
          headers: { "Sec-WebSocket-Protocol": "chat.v1" },
        };
        assert.equal((await connect.invoke(event)).statusCode, 200);
        assert.deepEqual([...api.delivered.keys()].sort(), [id("ann"), id("bob")].sort());
        const [notice] = frames(id("ann"));
        assert.deepEqual(Object.keys(notice), ["type", "room", "name", "at"]);
        assert.deepEqual([notice.type, notice.room, notice.name], ["joined", "lobby", "Fay"]);
        assert.equal(notice.at, new Date(event.requestContext.requestTimeEpoch).toISOString());
        assert.deepEqual(frames(id("bob")), [notice]);
      });

      it("a departure is announced once, with the name the record held", async function () {
        const disconnect = await start("disconnect");
        const event = websocketEvent("DISCONNECT", "$disconnect", id("bob"));
        assert.equal((await disconnect.invoke(event)).statusCode, 200);
        assert.deepEqual([...api.delivered.keys()], [id("ann")]);
        const [notice] = frames(id("ann"));
        assert.deepEqual([notice.type, notice.room, notice.name], ["left", "lobby", "Bob"]);
        api.reset();
        await disconnect.invoke(websocketEvent("DISCONNECT", "$disconnect", id("bob")));
        assert.equal(api.delivered.size, 0, "a second $disconnect tells nobody");
      });

      it("none are sent with PRESENCE_NOTICES=false", async function () {
        const off = { PRESENCE_NOTICES: "false" };
        const connect = await start("connect", off);
        await connect.invoke(connectEvent(id("fay"), { room: "lobby" }));
        const disconnect = await start("disconnect", off);
        await disconnect.invoke(websocketEvent("DISCONNECT", "$disconnect", id("bob")));
        assert.equal(api.delivered.size, 0);
        assert.deepEqual((await dynamo.ids(env.TABLE_NAME)).includes(id("fay")), true);
      });

      it("a notice that cannot be sent never refuses the joiner", async function () {
        const connect = await start("connect", {
          MANAGEMENT_ENDPOINT: "http://127.0.0.1:9/nowhere",
        });
        const result = await connect.invoke(connectEvent(id("fay"), { room: "lobby" }));
        assert.equal(result.statusCode, 200);
        const notice = await logs.entry("notice", { notice: "joined" });
        assert.equal(notice.delivered, 0);
      });
    });
  });
}
