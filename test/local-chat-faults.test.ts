import { strict as assert } from "assert";
import { once } from "events";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalChat, LocalChatOptions, startLocalChat } from "../local/chat";
import { CapturedLog } from "./support/captured-log";
import { DynamoProxy } from "./support/dynamo-proxy";
import { closeLocalChat, dynamoBackends, TestDynamo } from "./support/dynamo";
import { TestClient, refusedUpgradeStatus, sendFragmented } from "./support/local-clients";
import { RawWebSocket } from "./support/raw-websocket";
import { PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

/**
 * Failing dependencies and vanishing clients, end to end: the deployable bundles in a local chat
 * whose DynamoDB sits behind a proxy the tests can cut or throttle, and restore without a
 * restart. (The handler tests cover the @connections API's 429, 500 and 410 per recipient
 * against the bundles directly: test/handler-message.test.ts.)
 */
for (const backend of dynamoBackends()) {
  describe(`local chat under faults: DynamoDB unreachable or throttling, clients that stop reading or vanish (${backend})`, function () {
    let dynamo: TestDynamo;
    let proxy: DynamoProxy;
    let chat: LocalChat;
    let projectDir: string;
    const logs = new CapturedLog();
    const clients: TestClient[] = [];

    async function startChat(options: LocalChatOptions = {}): Promise<LocalChat> {
      return startLocalChat({
        port: 0,
        projectDir,
        dynamoEndpoint: proxy.endpoint,
        functionLog: logs.write,
        ...options,
      });
    }

    async function connect(): Promise<TestClient> {
      const client = await within(PROMPTLY_MS, "a client to connect", TestClient.connect(chat.url));
      clients.push(client);
      return client;
    }

    const ids = () => dynamo.ids(chat.tableName);
    const send = (client: TestClient, data: string) =>
      client.send(JSON.stringify({ action: "sendmessage", data }));
    const next = (client: TestClient, what: string) => within(PROMPTLY_MS, what, client.next());

    before(async function () {
      this.timeout(STARTUP_MS);
      projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-faults-"));
      fs.writeFileSync(
        path.join(projectDir, "Pulumi.yaml"),
        "name: websocket-chat\nruntime: nodejs\n",
      );
      // One test has a client send far more than the default rate limit allows.
      fs.writeFileSync(
        path.join(projectDir, "Pulumi.dev.yaml"),
        "config:\n  websocket-chat:messageRateBurst: 0\n",
      );
      dynamo = await TestDynamo.start(backend);
      proxy = await DynamoProxy.start(dynamo.endpoint);
      chat = await startChat();
    });
    afterEach(async function () {
      proxy.fault = { kind: "none" };
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await within(PROMPTLY_MS, "every $disconnect", chat.gateway.settled());
    });
    after(async function () {
      this.timeout(STARTUP_MS);
      if (chat) await closeLocalChat(chat, backend);
      await proxy?.stop();
      await dynamo?.stop();
      fs.rmSync(projectDir, { recursive: true, force: true });
    });

    it("DynamoDB unreachable during $connect: refused with 500, nothing stored, and connecting works again once it is back", async () => {
      const bob = await connect();
      const before = await ids();
      proxy.fault = { kind: "unreachable" };
      assert.equal(await refusedUpgradeStatus(chat.url), 500);
      assert.ok((proxy.faulted.get("PutItem") ?? 0) > 0, "the record's write was attempted");
      const failure = await logs.entry("connect_failed");
      assert.ok(failure.errorName, "the reason is logged");
      proxy.fault = { kind: "none" };
      assert.deepEqual(await ids(), before, "nothing half stored");
      assert.equal(chat.gateway.connectionIds().length, 1);
      assert.equal(chat.gateway.connecting, 0);

      // Back, with no restart: a new client connects and chats with the one already there.
      const alice = await connect();
      await send(alice, "back again");
      assert.equal(await next(bob, "bob's copy"), "back again");
      assert.equal(await next(alice, "alice's copy"), "back again");
      assert.deepEqual(await ids(), chat.gateway.connectionIds().sort());
    });

    it("DynamoDB unreachable during a broadcast: the sender hears why, and no record is deleted", async () => {
      const [alice, bob] = [await connect(), await connect()];
      const before = await ids();
      proxy.fault = { kind: "unreachable" };
      await send(alice, "into the void");
      const reply = JSON.parse(await next(alice, "alice's error")) as {
        error: string;
        message: string;
      };
      assert.equal(reply.error, "BroadcastFailed");
      assert.match(reply.message, /could not be read .*Send it again/);
      proxy.fault = { kind: "none" };
      assert.deepEqual(await ids(), before, "no record deleted because of a read error");
      await send(alice, "after the outage");
      assert.equal(await next(bob, "bob's next message"), "after the outage");
      assert.equal(await next(alice, "alice's copy"), "after the outage");
      assert.deepEqual(bob.pending, [], "bob never got the failed message, nor an error");
    });

    it("DynamoDB throttling the room's reads: the sender hears why, retried first, and no record is deleted", async () => {
      const [alice, bob] = [await connect(), await connect()];
      const before = await ids();
      proxy.fault = { kind: "throttle", operations: ["Query"] };
      await send(alice, "throttled");
      const reply = JSON.parse(await next(alice, "alice's error")) as {
        error: string;
        message: string;
      };
      assert.equal(reply.error, "BroadcastFailed");
      assert.match(reply.message, /ProvisionedThroughputExceededException/);
      assert.ok((proxy.faulted.get("Query") ?? 0) > 1, "the SDK retried the throttled read");
      proxy.fault = { kind: "none" };
      assert.deepEqual(await ids(), before);
      await send(alice, "unthrottled");
      assert.equal(await next(bob, "bob's next message"), "unthrottled");
      assert.equal(await next(alice, "alice's copy"), "unthrottled");
    });

    it("a client that stops reading gets 429s instead of a growing buffer; the room is served and its record kept", async () => {
      const [alice, bob] = [await connect(), await connect()];
      bob.socket.pause();
      const data = "w".repeat(100 * 1024);
      // Loopback buffers hold a few MB before the gateway holds anything for bob.
      for (
        let sent = 0;
        sent < 80 && !logs.entries.some((e) => e.event === "post_failed");
        sent++
      ) {
        // In 32 KB frames, the most API Gateway takes in one.
        await sendFragmented(alice, JSON.stringify({ action: "sendmessage", data }), 32 * 1024);
        assert.equal((await next(alice, `alice's copy of message ${sent}`)).length, data.length);
      }
      const failure = await logs.entry("post_failed");
      assert.equal(failure.errorName, "LimitExceededException");
      assert.deepEqual(await ids(), chat.gateway.connectionIds().sort(), "bob's record is kept");
      assert.ok(bob.isOpen);
      // Once bob reads again he has what was taken for him, then the room's next message.
      bob.socket.resume();
      await send(alice, "end");
      assert.equal(await next(alice, "alice's copy of the end"), "end");
      for (let message = await next(bob, "bob's backlog"); message !== "end";) {
        assert.equal(message.length, data.length);
        message = await next(bob, "bob's backlog");
      }
    });

    it("a client that vanishes without a close frame is closed at the idle timeout, and its record goes", async () => {
      // Long enough that carol's round trip below fits in it on a loaded machine.
      const quick = await startChat({ idleTimeoutMs: 2_000 });
      try {
        const url = new URL(quick.url);
        const head =
          `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
          "Sec-WebSocket-Version: 13\r\n\r\n";
        const { client } = await RawWebSocket.request(url.hostname, Number(url.port), head);
        assert.ok(client);
        const [id] = quick.gateway.connectionIds();
        assert.deepEqual(await dynamo.ids(quick.tableName), [id]);
        // Gone without a word: it neither reads nor answers anything from now on.
        client.socket.pause();
        const [gone, code] = (await within(
          PROMPTLY_MS,
          "the vanished client's $disconnect",
          once(quick.gateway, "disconnect"),
        )) as [string, number];
        assert.equal(gone, id);
        assert.equal(code, 1001);
        assert.deepEqual(await dynamo.ids(quick.tableName), []);
        client.destroy();
        // The chat serves the next client as ever.
        const carol = await within(PROMPTLY_MS, "carol to connect", TestClient.connect(quick.url));
        await send(carol, "anyone?");
        assert.equal(await next(carol, "carol's copy"), "anyone?");
        await carol.close();
      } finally {
        await quick.close();
      }
    });
  });
}
