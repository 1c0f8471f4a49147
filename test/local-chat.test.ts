import { strict as assert } from "assert";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { LocalChat, startLocalChat } from "../local/chat";
import { TestClient } from "./support/local-clients";

describe("local mode end to end (startLocalChat, real bundles, dynalite)", function () {
  this.timeout(60_000);

  describe("with the default routing ($request.body.action, sendmessage)", () => {
    let chat: LocalChat;
    const clients: TestClient[] = [];
    const connect = async () => {
      const client = await TestClient.connect(chat.url);
      clients.push(client);
      return client;
    };

    before(async () => {
      chat = await startLocalChat({ port: 0, projectDir: await emptyProjectDir() });
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
    });
    after(async () => {
      await chat?.close();
    });

    it("serves ws://127.0.0.1:<port>/dev and its @connections API under http://…/dev", () => {
      assert.match(chat.url, /^ws:\/\/127\.0\.0\.1:\d+\/dev$/);
      assert.equal(chat.managementEndpoint, chat.url.replace(/^ws:/, "http:"));
    });

    it("broadcasts {action: sendmessage} data to every connected client, the sender too", async () => {
      const [alice, bob] = [await connect(), await connect()];
      await alice.send(JSON.stringify({ action: "sendmessage", data: "hello world" }));
      assert.equal(await alice.next(), "hello world");
      assert.equal(await bob.next(), "hello world");
    });

    it("answers an unknown action through $default, to the sender only", async () => {
      const [alice, bob] = [await connect(), await connect()];
      await alice.send(JSON.stringify({ action: "shout", data: "hi" }));
      const reply = JSON.parse(await alice.next());
      assert.deepEqual(reply.expected, { action: "sendmessage", data: "hello world" });
      // bob gets the next broadcast and nothing before it
      await alice.send(JSON.stringify({ action: "sendmessage", data: "after" }));
      assert.equal(await bob.next(), "after");
    });
  });

  describe("with the alternative routing from Pulumi.<stack>.yaml ($request.body.message, pushmessage)", () => {
    let chat: LocalChat;
    const clients: TestClient[] = [];

    before(async () => {
      const projectDir = await emptyProjectDir();
      await fs.writeFile(
        path.join(projectDir, "Pulumi.alt.yaml"),
        [
          "config:",
          "  aws:region: ap-northeast-1",
          "  websocket-chat:stageName: prod",
          "  websocket-chat:routeSelectionExpression: $request.body.message",
          "  websocket-chat:messageRoute: pushmessage",
          "",
        ].join("\n"),
      );
      chat = await startLocalChat({ port: 0, projectDir, stack: "alt" });
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
    });
    after(async () => {
      await chat?.close();
    });

    it("takes the stage, selection expression and message route from the stack file", () => {
      assert.match(chat.url, /\/prod$/);
      assert.equal(chat.routeSelectionExpression, "$request.body.message");
      assert.equal(chat.messageRoute, "pushmessage");
    });

    it('broadcasts {"message":"pushmessage","data":…} and sends {"action":"sendmessage"} to $default', async () => {
      const alice = await TestClient.connect(chat.url);
      const bob = await TestClient.connect(chat.url);
      clients.push(alice, bob);
      await alice.send(JSON.stringify({ message: "pushmessage", data: "hello world" }));
      assert.equal(await alice.next(), "hello world");
      assert.equal(await bob.next(), "hello world");

      await bob.send(JSON.stringify({ action: "sendmessage", data: "hello world" }));
      const reply = JSON.parse(await bob.next());
      assert.deepEqual(reply.expected, { message: "pushmessage", data: "hello world" });
    });
  });
});

/** A project directory with a Pulumi.yaml and no stack file: the built-in defaults apply. */
async function emptyProjectDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "local-chat-project-"));
  await fs.writeFile(path.join(dir, "Pulumi.yaml"), "name: websocket-chat\nruntime: nodejs\n");
  return dir;
}
