import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { strict as assert } from "assert";
import { once } from "events";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { LocalChat, LocalChatOptions, startLocalChat } from "../local/chat";
import {
  CONNECTION_KEY,
  EXPIRY_ATTRIBUTE,
  MEMBER_ATTRIBUTE,
  memberKey,
  ROOM_ATTRIBUTE,
} from "../handlers/lib/connection-store";
import { DEFAULT_TIMEOUT_SECONDS } from "../components/settings";
import { HANDLER_NAMES } from "../handlers/routes";
import { CapturedLog } from "./support/captured-log";
import {
  chatDynamoClient,
  closeLocalChat,
  DynamoBackend,
  dynamoBackends,
  localChatDynamo,
} from "./support/dynamo";
import { TestClient } from "./support/local-clients";
import { PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

const ANY_CREDENTIALS = { accessKeyId: "any", secretAccessKey: "any" };

async function tableIds(chat: LocalChat): Promise<string[]> {
  const client = chatDynamoClient(chat);
  try {
    const page = await client.send(new ScanCommand({ TableName: chat.tableName }));
    return (page.Items ?? []).map((item) => item[CONNECTION_KEY].S!).sort();
  } finally {
    client.destroy();
  }
}

async function putRecord(chat: LocalChat, connectionId: string): Promise<void> {
  const client = chatDynamoClient(chat);
  try {
    const expiresAt = String(Math.floor(Date.now() / 1000) + 3600);
    await client.send(
      new PutItemCommand({
        TableName: chat.tableName,
        Item: {
          [CONNECTION_KEY]: { S: connectionId },
          [EXPIRY_ATTRIBUTE]: { N: expiresAt },
          [ROOM_ATTRIBUTE]: { S: "general" },
          [MEMBER_ATTRIBUTE]: { S: memberKey({ connectionId, structured: false }) },
        },
      }),
    );
  } finally {
    client.destroy();
  }
}

for (const backend of dynamoBackends()) {
  describe(`local mode end to end (startLocalChat, real bundles, ${backend})`, function () {
    this.timeout(60_000);

    describe("with the default routing ($request.body.action, sendmessage)", () => {
      let chat: LocalChat;
      const logs = new CapturedLog();
      const clients: TestClient[] = [];
      const connect = async () => {
        const client = await TestClient.connect(chat.url);
        clients.push(client);
        return client;
      };

      before(async () => {
        chat = await start(
          { ...(await localChatDynamo(backend)), port: 0, projectDir: await emptyProjectDir() },
          logs,
        );
      });
      afterEach(async () => {
        await closeAll(chat, clients.splice(0));
      });
      after(async () => {
        await stop(chat, backend);
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

      it("$connect records each connection and $disconnect forgets it, in the local table", async () => {
        const alice = await connect();
        const [aliceId] = chat.gateway.connectionIds();
        assert.deepEqual(await tableIds(chat), [aliceId]);
        const disconnected = once(chat.gateway, "disconnect");
        await alice.close();
        assert.equal((await within(PROMPTLY_MS, "alice's $disconnect", disconnected))[0], aliceId);
        assert.deepEqual(await tableIds(chat), []);
      });

      it("a stale record is deleted on the next broadcast: the local 410 carries GoneException", async () => {
        const alice = await connect();
        const [aliceId] = chat.gateway.connectionIds();
        const stale = "R1kmxc2VNjMCFIA="; // well-formed, never connected
        await putRecord(chat, stale);
        await alice.send(JSON.stringify({ action: "sendmessage", data: "anyone there?" }));
        assert.equal(await alice.next(), "anyone there?");
        // The broadcast logs once its cleanup is done; only then is the table settled.
        const first = await logs.entry("broadcast", { connectionId: aliceId });
        assert.equal(first.gone, 1, "the stale record counted as gone, not as a failure");
        assert.deepEqual(await tableIds(chat), chat.gateway.connectionIds());
      });

      it("the SDK reaches connections at managementEndpoint: DeleteConnection runs $disconnect, then GoneException", async () => {
        const alice = await connect();
        const [aliceId] = chat.gateway.connectionIds();
        const sdk = new ApiGatewayManagementApiClient({
          endpoint: chat.managementEndpoint,
          region: "us-east-1",
          credentials: ANY_CREDENTIALS,
        });
        try {
          await within(
            PROMPTLY_MS,
            "the SDK's PostToConnection",
            sdk.send(
              new PostToConnectionCommand({ ConnectionId: aliceId, Data: Buffer.from("hi alice") }),
            ),
          );
          assert.equal(await alice.next(), "hi alice");
          const disconnected = once(chat.gateway, "disconnect");
          await within(
            PROMPTLY_MS,
            "the SDK's DeleteConnection",
            sdk.send(new DeleteConnectionCommand({ ConnectionId: aliceId })),
          );
          assert.equal((await alice.closed).code, 1000);
          await within(PROMPTLY_MS, "alice's $disconnect", disconnected);
          assert.deepEqual(await tableIds(chat), []);
          await assert.rejects(
            within(
              PROMPTLY_MS,
              "the SDK's PostToConnection to a deleted connection",
              sdk.send(
                new PostToConnectionCommand({ ConnectionId: aliceId, Data: Buffer.from("gone") }),
              ),
            ),
            (err: unknown) => err instanceof GoneException && err.name === "GoneException",
          );
        } finally {
          sdk.destroy();
        }
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
        chat = await start({
          ...(await localChatDynamo(backend)),
          port: 0,
          projectDir,
          stack: "alt",
        });
      });
      afterEach(async () => {
        await closeAll(chat, clients.splice(0));
      });
      after(async () => {
        await stop(chat, backend);
      });

      it("takes the stage, selection expression and message route from the stack file", () => {
        assert.match(chat.url, /\/prod$/);
        assert.equal(chat.routeSelectionExpression, "$request.body.message");
        assert.equal(chat.messageRoute, "pushmessage");
      });

      it("runs each function with the timeout it is deployed with, not one for all", () => {
        for (const [handler, lambda] of chat.functions) {
          assert.equal(lambda.timeoutMs, DEFAULT_TIMEOUT_SECONDS[handler] * 1000, handler);
        }
        assert.equal(chat.functions.size, HANDLER_NAMES.length);
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

      it('answers {"message":"history"} and {"message":"who"} under the same selection expression', async () => {
        const carol = await TestClient.connect(`${chat.url}?room=alt&name=Carol`);
        clients.push(carol);
        await carol.send(JSON.stringify({ message: "pushmessage", data: "kept" }));
        assert.equal(await within(PROMPTLY_MS, "carol's copy", carol.next()), "kept");
        await carol.send(JSON.stringify({ message: "history" }));
        const history = JSON.parse(await within(PROMPTLY_MS, "the history reply", carol.next()));
        assert.deepEqual(
          [history.type, history.messages.map((m: { data: string }) => m.data)],
          ["history", ["kept"]],
        );
        await carol.send(JSON.stringify({ message: "who" }));
        const presence = JSON.parse(await within(PROMPTLY_MS, "the who reply", carol.next()));
        assert.deepEqual(presence, { type: "presence", room: "alt", count: 1, names: ["Carol"] });
      });
    });
  });
}

describe("local mode lifecycle", function () {
  this.timeout(60_000);

  for (const [key, value, refusal] of [
    ["messageRoute", "$connect", /messageRoute must be a custom route key/],
    ["stageName", "team.prod", /stageName "team\.prod" is not a valid API Gateway stage name/],
    ["lambdaArchitecture", "arm32", /lambda\.architecture must be one of/],
  ] as const) {
    it(`refuses a stack whose ${key} is ${value}, as pulumi up does, before starting anything`, async () => {
      const projectDir = await emptyProjectDir();
      await fs.writeFile(
        path.join(projectDir, "Pulumi.bad.yaml"),
        `config:\n  websocket-chat:${key}: "${value}"\n`,
      );
      await assert.rejects(startLocalChat({ port: 0, projectDir, stack: "bad" }), refusal);
    });
  }

  it("refuses a stack name that is not a valid stage when no stageName is set", async () => {
    await assert.rejects(
      startLocalChat({ port: 0, projectDir: await emptyProjectDir(), stack: "team.prod" }),
      /stageName "team\.prod"/,
    );
  });

  it("presenceNotices overrides the stack's presence notices for every function", async () => {
    const chat = await start({
      port: 0,
      projectDir: await emptyProjectDir(),
      presenceNotices: false,
    });
    try {
      assert.equal(chat.settings.presence.notices, false);
      assert.equal(chat.environment.PRESENCE_NOTICES, "false");
    } finally {
      await stop(chat);
    }
  });

  it("closes idle connections after idleTimeoutMs and runs the real $disconnect", async () => {
    const chat = await start({
      port: 0,
      projectDir: await emptyProjectDir(),
      idleTimeoutMs: 300,
    });
    try {
      const client = await TestClient.connect(chat.url);
      const disconnected = once(chat.gateway, "disconnect");
      assert.equal((await client.closed).code, 1001);
      assert.equal((await within(PROMPTLY_MS, "the $disconnect", disconnected))[1], 1001);
      assert.deepEqual(await tableIds(chat), []);
    } finally {
      await stop(chat);
    }
  });

  it("keeps data in dataDir across restarts, reuses the table, and close() runs $disconnect for every client", async () => {
    const projectDir = await emptyProjectDir();
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "local-chat-data-"));
    try {
      const first = await start({ port: 0, projectDir, dataDir });
      const clients = [await TestClient.connect(first.url), await TestClient.connect(first.url)];
      await putRecord(first, "KeptAcrossRuns0=");
      assert.equal((await tableIds(first)).length, 3);
      await stop(first);
      for (const client of clients) assert.equal((await client.closed).code, 1001);

      const second = await start({ port: 0, projectDir, dataDir });
      try {
        assert.deepEqual(await tableIds(second), ["KeptAcrossRuns0="]);
      } finally {
        await stop(second);
      }
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * Starts the whole local chat, giving up with a name if it does not come up. What its functions
 * log goes to `logs`, not to mocha's output.
 */
function start(options: LocalChatOptions, logs = new CapturedLog()): Promise<LocalChat> {
  return within(
    STARTUP_MS,
    "the local chat to start",
    startLocalChat({ ...options, functionLog: logs.write }),
  );
}

/** Closes `chat` (if it started), giving up with a name if it does not stop. */
async function stop(
  chat: LocalChat | undefined,
  backend: DynamoBackend = "dynalite",
): Promise<void> {
  if (chat) await within(STARTUP_MS, "the local chat to close", closeLocalChat(chat, backend));
}

/** Closes `clients` and waits until the gateway has run $disconnect for every connection. */
async function closeAll(chat: LocalChat, clients: TestClient[]): Promise<void> {
  const open = new Set(chat.gateway.connectionIds());
  const allDisconnected = new Promise<void>((resolve) => {
    const onDisconnect = (id: string) => {
      open.delete(id);
      if (open.size === 0) {
        chat.gateway.off("disconnect", onDisconnect);
        resolve();
      }
    };
    chat.gateway.on("disconnect", onDisconnect);
    if (open.size === 0) onDisconnect("");
  });
  await Promise.all(clients.map((client) => client.close()));
  await within(PROMPTLY_MS, "$disconnect for every connection", allDisconnected);
}

const projectDirs: string[] = [];
after(async () => {
  await Promise.all(
    projectDirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })),
  );
});

/** A project directory with a Pulumi.yaml and no stack file: the built-in defaults apply. */
async function emptyProjectDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "local-chat-project-"));
  projectDirs.push(dir);
  await fs.writeFile(path.join(dir, "Pulumi.yaml"), "name: websocket-chat\nruntime: nodejs\n");
  return dir;
}
