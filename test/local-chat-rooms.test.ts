import { strict as assert } from "assert";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { LocalChat, startLocalChat } from "../local/chat";
import { refusedUpgradeStatus, TestClient } from "./support/local-clients";
import { CapturedLog } from "./support/captured-log";
import { closeLocalChat, dynamoBackends, localChatDynamo } from "./support/dynamo";
import { PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

for (const backend of dynamoBackends()) {
  describe(`local mode: rooms and names (real bundles, ${backend})`, function () {
    this.timeout(60_000);
    let chat: LocalChat;
    let projectDir: string;
    const logs = new CapturedLog();
    const clients: TestClient[] = [];

    async function join(query = "", protocols?: string[]): Promise<TestClient> {
      const client = await TestClient.connect(`${chat.url}${query}`, { protocols });
      clients.push(client);
      return client;
    }

    /** Sends `data` from `client` and waits until it has its own copy back (the broadcast ran). */
    async function say(client: TestClient, data: string): Promise<void> {
      await client.send(JSON.stringify({ action: "sendmessage", data }));
      assert.equal(
        await within(PROMPTLY_MS, `the sender's copy of "${data}"`, client.next()),
        data,
      );
    }

    before(async function () {
      projectDir = await fs.mkdtemp(path.join(os.tmpdir(), "local-rooms-"));
      await fs.writeFile(path.join(projectDir, "Pulumi.yaml"), "name: websocket-chat\n");
      chat = await within(
        STARTUP_MS,
        "the local chat to start",
        startLocalChat({
          ...(await localChatDynamo(backend)),
          port: 0,
          projectDir,
          functionLog: logs.write,
        }),
      );
    });
    afterEach(async function () {
      await Promise.all(clients.splice(0).map((client) => client.close()));
    });
    after(async function () {
      if (chat) await closeLocalChat(chat, backend);
      await fs.rm(projectDir, { recursive: true, force: true });
    });

    it("keeps rooms apart: a message reaches its room only, and no room means general", async function () {
      const red1 = await join("?room=red&name=ann");
      const red2 = await join("?room=red");
      const blue = await join("?room=blue");
      const seed = await join();
      const general = await join("?room=general");

      await say(red1, "for red");
      assert.equal(await within(PROMPTLY_MS, "red2's copy", red2.next()), "for red");
      await say(blue, "for blue");
      await say(seed, "hello world");
      assert.equal(await within(PROMPTLY_MS, "general's copy", general.next()), "hello world");

      // Anything else that had arrived would be waiting here.
      await say(red2, "last");
      assert.equal(await within(PROMPTLY_MS, "red1's copy of last", red1.next()), "last");
      assert.deepEqual(
        [red1, red2, blue, seed, general].map((c) => c.pending.length),
        [0, 0, 0, 0, 0],
      );
    });

    it("a chat.v1 client gets JSON frames and a plain one raw text, from one broadcast to their room", async function () {
      const structured = await join("?room=mixed&name=Zo%C3%AB", ["chat.v1"]);
      const plain = await join("?room=mixed&name=bob");
      assert.equal(structured.socket.protocol, "chat.v1");
      assert.equal(plain.socket.protocol, "");
      const joined = JSON.parse(
        await within(PROMPTLY_MS, "bob's joined notice", structured.next()),
      );
      assert.deepEqual([joined.type, joined.name], ["joined", "bob"]);

      await say(plain, "hello from bob");
      const frame = JSON.parse(await within(PROMPTLY_MS, "the chat.v1 frame", structured.next()));
      assert.equal(frame.type, "message");
      assert.equal(frame.room, "mixed");
      assert.equal(frame.from, "bob");
      assert.equal(frame.data, "hello from bob");

      await structured.send(JSON.stringify({ action: "sendmessage", data: { emoji: "🙂" } }));
      assert.equal(await within(PROMPTLY_MS, "bob's copy", plain.next()), '{"emoji":"🙂"}');
      const own = JSON.parse(await within(PROMPTLY_MS, "Zoë's own frame", structured.next()));
      assert.deepEqual([own.from, own.data], ["Zoë", { emoji: "🙂" }]);

      await structured.send(JSON.stringify({ action: "shout" }));
      const error = JSON.parse(await within(PROMPTLY_MS, "the $default error", structured.next()));
      assert.deepEqual([error.type, error.error], ["error", "UnknownAction"]);
    });

    it("replays a room's history to whoever asks, in either format", async function () {
      const first = await join("?room=hist&name=ann");
      await say(first, "one");
      await say(first, "two");
      const late = await join("?room=hist&name=bob", ["chat.v1"]);
      await late.send(JSON.stringify({ action: "history" }));
      const history = JSON.parse(await within(PROMPTLY_MS, "bob's history", late.next()));
      assert.equal(history.type, "history");
      assert.deepEqual(
        history.messages.map((m: { from: string; data: string }) => [m.from, m.data]),
        [
          ["ann", "one"],
          ["ann", "two"],
        ],
      );
      await first.send(JSON.stringify({ action: "history" }));
      const plain = JSON.parse(await within(PROMPTLY_MS, "ann's history", first.next()));
      assert.deepEqual(plain, history, "a plain client gets the same JSON");
    });

    it("announces joins and departures to the room's chat.v1 clients, and answers who", async function () {
      const ann = await join("?room=party&name=Ann", ["chat.v1"]);
      const bob = await join("?room=party&name=Bob");
      const joined = JSON.parse(await within(PROMPTLY_MS, "the joined notice", ann.next()));
      assert.deepEqual([joined.type, joined.room, joined.name], ["joined", "party", "Bob"]);

      await bob.send(JSON.stringify({ action: "who" }));
      const presence = JSON.parse(await within(PROMPTLY_MS, "bob's presence", bob.next()));
      assert.deepEqual(presence, {
        type: "presence",
        room: "party",
        count: 2,
        names: ["Ann", "Bob"],
      });

      await bob.close();
      const left = JSON.parse(await within(PROMPTLY_MS, "the left notice", ann.next()));
      assert.deepEqual([left.type, left.room, left.name], ["left", "party", "Bob"]);
    });

    for (const [what, query] of [
      ["an invalid room", "?room=no%20spaces"],
      ["a room of 65 characters", `?room=${"r".repeat(65)}`],
      ["a name of 33 characters", `?name=${"n".repeat(33)}`],
      ["a name with a control character", "?name=a%07b"],
    ]) {
      it(`refuses the upgrade with 400 for ${what}, leaving no connection behind`, async function () {
        assert.equal(await refusedUpgradeStatus(`${chat.url}${query}`), 400);
        assert.deepEqual(chat.gateway.connectionIds(), []);
        const refused = await logs.entry("connect_refused");
        logs.lines.length = 0;
        assert.match(String(refused.reason), /^Invalid (room|name)/);
      });
    }
  });
}
