import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONNECTION_KEY } from "../handlers/lib/connection-store";
import { LocalChat, startLocalChat } from "../local/chat";
import { CapturedLog } from "./support/captured-log";
import {
  chatDynamoClient,
  closeLocalChat,
  dynamoBackends,
  localChatDynamo,
} from "./support/dynamo";
import { TestClient } from "./support/local-clients";
import { OPCODE, RawFrame, RawWebSocket, ServerFrame } from "./support/raw-websocket";
import { eventually, PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

/**
 * The hostile-input corpus (test/hostile-input.json): what strangers send a chat on the public
 * internet, each case with the outcome this chat documents for it. Every case runs against one
 * real local chat (real bundles, dynalite) and must leave it as it found it: the process alive,
 * two bystanders unaffected and served the next message exactly once, and the table holding
 * exactly the open connections.
 */

interface FrameSpec {
  /** The payload as text (UTF-8), with `{{N*text}}` expanded. */
  text?: string;
  /** The payload as hex bytes. */
  hex?: string;
  /** Raw bytes put on the wire instead of a frame (a header that lies about its length). */
  header?: string;
  /** Default "text". */
  opcode?: keyof typeof OPCODE | number;
  fin?: boolean;
  rsv?: number;
  mask?: boolean;
  /** Sends the payload as a fragmented message, this many bytes per frame. */
  fragment?: number;
  /** Sends the frame this many times. */
  repeat?: number;
}

interface UpgradeSpec {
  method?: string;
  /** Default `/{{stage}}`. */
  path?: string;
  /** HTTP version of the request line. Default "1.1". */
  version?: string;
  /** Added after the usual handshake headers. */
  headers?: [string, string][];
  /** Replaces the value of a usual handshake header. */
  replace?: Record<string, string>;
  /** Leaves usual handshake headers out. */
  omit?: string[];
  /** These bytes (latin1) instead of a request. */
  raw?: string;
  /** "half": the head is cut off before its end, then the client leaves; "abandon": it leaves at once. */
  then?: "half" | "abandon";
}

interface Expectation {
  /** The upgrade's answer: a status (default 101), null for none, "any" for a race. */
  status?: number | null | "any";
  /** Every connected client, the sender included, receives this text once. */
  broadcast?: string;
  /** The sender alone receives an error reply of this kind. */
  reply?: string;
  /** The gateway closes the sender's connection with this code. */
  close?: number;
  /** The sender receives this many pongs. */
  pongs?: number;
}

interface HostileCase {
  name: string;
  upgrade?: UpgradeSpec;
  send?: FrameSpec[];
  expect: Expectation;
}

const CORPUS = JSON.parse(
  fs.readFileSync(path.join(__dirname, "hostile-input.json"), "utf8"),
) as HostileCase[];

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

for (const backend of dynamoBackends()) {
  describe(`hostile-input corpus (test/hostile-input.json) against a real local chat (${backend})`, function () {
    let chat: LocalChat;
    let dynamo: DynamoDBClient;
    let projectDir: string;
    const functionLog = new CapturedLog();
    const gatewayLog: string[] = [];
    const bystanders: TestClient[] = [];
    const faults: unknown[] = [];
    const recordFault = (err: unknown) => faults.push(err);

    before(async function () {
      this.timeout(STARTUP_MS);
      process.on("uncaughtException", recordFault).on("unhandledRejection", recordFault);
      projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-input-"));
      fs.writeFileSync(
        path.join(projectDir, "Pulumi.yaml"),
        "name: websocket-chat\nruntime: nodejs\n",
      );
      chat = await startLocalChat({
        ...(await localChatDynamo(backend)),
        port: 0,
        projectDir,
        log: (line) => gatewayLog.push(line),
        functionLog: functionLog.write,
      });
      dynamo = chatDynamoClient(chat);
      bystanders.push(await TestClient.connect(chat.url), await TestClient.connect(chat.url));
    });

    after(async function () {
      this.timeout(STARTUP_MS);
      process.off("uncaughtException", recordFault).off("unhandledRejection", recordFault);
      await Promise.all(bystanders.map((client) => client.close()));
      dynamo?.destroy();
      if (chat) await closeLocalChat(chat, backend);
      fs.rmSync(projectDir, { recursive: true, force: true });
    });

    it("holds at least 60 cases, each with an expected outcome", () => {
      assert.ok(CORPUS.length >= 60, `${CORPUS.length} cases`);
      for (const hostile of CORPUS) assert.ok(Object.keys(hostile.expect).length > 0, hostile.name);
      assert.equal(new Set(CORPUS.map((hostile) => hostile.name)).size, CORPUS.length);
    });

    CORPUS.forEach((hostile, index) => {
      it(hostile.name, async () => {
        const bystanderIds = chat.gateway.connectionIds().sort();
        assert.equal(bystanderIds.length, 2, "the two bystanders are connected");
        const logged = gatewayLog.length;

        const sender = await upgrade(hostile);
        const { status = 101 } = hostile.expect;
        if (status !== "any") assert.equal(sender.status ?? null, status, "the upgrade's answer");
        if (typeof status === "number" && status !== 101 && sender.status === status) {
          assert.ok(
            gatewayLog
              .slice(logged)
              .some((line) =>
                new RegExp(`"event":"(connect|request)_refused","status":${status},`).test(line),
              ) || status === 403, // a plain GET of the stage is an @connections request, not an upgrade
            `a log line for the refusal, in:\n${gatewayLog.slice(logged).join("\n")}`,
          );
        }

        const client = sender.client;
        const senderId = client ? newId(bystanderIds) : undefined;
        const gone = senderId ? disconnected(senderId) : Promise.resolve();
        try {
          if (client) {
            for (const spec of hostile.send ?? []) sendFrames(client, spec);
            await expectOutcome(client, hostile.expect);
          }
          await nextMessageReachesEveryone(`next after case ${index}`, client);
        } finally {
          // Even after a failure: the next case starts from two bystanders and nothing else.
          await client?.close().catch(() => {});
          client?.destroy();
          await within(PROMPTLY_MS, "the sender's $disconnect", gone);
          await eventually(
            "only the bystanders to be left connected",
            () => chat.gateway.connectionIds().length === 2,
          );
          await within(
            PROMPTLY_MS,
            "every upgrade and $disconnect to finish",
            chat.gateway.settled(),
          );
          // A failed case leaves no frame behind for the next one to trip on.
          for (const bystander of bystanders) {
            while (bystander.pending.length > 0) await bystander.next();
          }
        }
        assert.equal(chat.gateway.connecting, 0, "no connection is stuck connecting");
        assert.deepEqual(chat.gateway.connectionIds().sort(), bystanderIds);
        assert.deepEqual(
          await tableIds(),
          bystanderIds,
          "the table holds exactly the open connections",
        );
        assert.deepEqual(faults, [], "no uncaught exception or unhandled rejection");
      });
    });

    /** A new client's message reaches the bystanders, the sender if open, and itself, once. */
    async function nextMessageReachesEveryone(next: string, sender?: RawWebSocket): Promise<void> {
      const herald = await TestClient.connect(chat.url);
      try {
        await herald.send(JSON.stringify({ action: "sendmessage", data: next }));
        for (const [who, bystander] of bystanders.entries()) {
          assert.equal(
            await within(PROMPTLY_MS, `bystander ${who}'s copy`, bystander.next()),
            next,
          );
        }
        assert.equal(await within(PROMPTLY_MS, "the herald's copy", herald.next()), next);
        if (sender?.isOpen) assert.equal(await nextText(sender, "the sender's copy"), next);
      } finally {
        await herald.close();
      }
      for (const [who, bystander] of bystanders.entries()) {
        assert.ok(bystander.isOpen, `bystander ${who} is still connected`);
        assert.deepEqual(bystander.pending, [], `bystander ${who} received nothing else`);
      }
    }

    /** Sends the case's upgrade request and reads the answer. */
    async function upgrade(
      hostile: HostileCase,
    ): Promise<{ status?: number; client?: RawWebSocket }> {
      const spec = hostile.upgrade ?? {};
      const url = new URL(chat.url);
      const request = spec.raw
        ? Buffer.from(expand(spec.raw), "latin1")
        : Buffer.from(requestHead(spec, url.host));
      if (spec.then === undefined) {
        return RawWebSocket.request(url.hostname, Number(url.port), request);
      }
      // A client that leaves: part of the head, or all of it, then gone.
      const socket = await RawWebSocket.open(url.hostname, Number(url.port));
      if (spec.then === "half") {
        socket.write(spec.raw ? request : request.subarray(0, request.length - 20));
        await new Promise((resolve) => setTimeout(resolve, 20));
        socket.end();
      } else {
        socket.write(request, () => socket.destroy());
      }
      return RawWebSocket.answer(socket);
    }

    function requestHead(spec: UpgradeSpec, host: string): string {
      const usual: Record<string, string> = {
        Host: host,
        Upgrade: "websocket",
        Connection: "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
      };
      const headers: [string, string][] = Object.entries(usual)
        .filter(([name]) => !spec.omit?.includes(name))
        .map(([name, value]) => [name, spec.replace?.[name] ?? value]);
      headers.push(...(spec.headers ?? []));
      const target = expand(spec.path ?? "/{{stage}}");
      return (
        `${spec.method ?? "GET"} ${target} HTTP/${spec.version ?? "1.1"}\r\n` +
        headers.map(([name, value]) => `${name}: ${expand(value)}\r\n`).join("") +
        "\r\n"
      );
    }

    /** `{{stage}}`, `{{STAGE}}` and `{{N*text}}` (text repeated N times). */
    function expand(template: string): string {
      return template
        .replace(/\{\{stage\}\}/g, chat.stage)
        .replace(/\{\{STAGE\}\}/g, chat.stage.toUpperCase())
        .replace(/\{\{(\d+)\*([^}]*)\}\}/g, (_, count: string, text: string) =>
          text.repeat(Number(count)),
        );
    }

    function sendFrames(client: RawWebSocket, spec: FrameSpec): void {
      if (spec.header !== undefined) return client.write(Buffer.from(spec.header, "hex"));
      const payload =
        spec.hex !== undefined
          ? Buffer.from(spec.hex, "hex")
          : Buffer.from(expand(spec.text ?? ""));
      const opcode = typeof spec.opcode === "number" ? spec.opcode : OPCODE[spec.opcode ?? "text"];
      const frame: RawFrame = { opcode, payload, fin: spec.fin, rsv: spec.rsv, mask: spec.mask };
      for (let i = 0; i < (spec.repeat ?? 1); i++) {
        if (spec.fragment === undefined) {
          client.send(frame);
          continue;
        }
        for (let offset = 0; offset < payload.length; offset += spec.fragment) {
          client.send({
            ...frame,
            opcode: offset === 0 ? opcode : OPCODE.continuation,
            payload: payload.subarray(offset, offset + spec.fragment),
            fin: offset + spec.fragment >= payload.length,
          });
        }
      }
    }

    async function expectOutcome(client: RawWebSocket, expect: Expectation): Promise<void> {
      const next = (what: string) => client.nextFrame(what);
      if (expect.close !== undefined) {
        const frame = await next(`a close frame with ${expect.close}`);
        assert.equal(frame?.opcode, OPCODE.close, `a close frame, got ${summary(frame)}`);
        assert.equal(frame.payload.readUInt16BE(0), expect.close, "the close code");
        await eventually("the gateway to end the connection", () => !client.isOpen);
      }
      if (expect.reply !== undefined) {
        const frame = await next(`a ${expect.reply} reply`);
        assert.equal(frame?.opcode, OPCODE.text, `a text frame, got ${summary(frame)}`);
        assert.equal(
          (JSON.parse(frame.payload.toString()) as { error: string }).error,
          expect.reply,
        );
      }
      if (expect.broadcast !== undefined) {
        const data = expand(expect.broadcast);
        const frame = await next("the sender's copy of its message");
        assert.equal(frame?.opcode, OPCODE.text, `a text frame, got ${summary(frame)}`);
        assert.ok(
          frame.payload.equals(Buffer.from(data)),
          `the sender's copy, byte for byte; got ${summary(frame)}`,
        );
        for (const [who, bystander] of bystanders.entries()) {
          const copy = await within(PROMPTLY_MS, `bystander ${who}'s copy`, bystander.next());
          assert.ok(
            copy === data,
            `bystander ${who}'s copy, byte for byte; got ${copy.slice(0, 80)}`,
          );
        }
      }
      if (expect.pongs !== undefined) {
        const pongs = expect.pongs;
        await eventually(`${pongs} pongs`, () => client.pongs >= pongs);
        assert.equal(client.pongs, pongs);
      }
    }

    async function nextText(client: RawWebSocket, what: string): Promise<string> {
      for (;;) {
        const frame = await client.nextFrame(what);
        assert.ok(frame, `${what}: the connection ended`);
        if (frame.opcode === OPCODE.text) return frame.payload.toString();
      }
    }

    function newId(known: string[]): string {
      const added = chat.gateway.connectionIds().filter((id) => !known.includes(id));
      assert.equal(added.length, 1, "one new connection");
      return added[0];
    }

    function disconnected(connectionId: string): Promise<void> {
      return new Promise((resolve) => {
        const listener = (id: string) => {
          if (id !== connectionId) return;
          chat.gateway.off("disconnect", listener);
          resolve();
        };
        chat.gateway.on("disconnect", listener);
      });
    }

    async function tableIds(): Promise<string[]> {
      const page = await dynamo.send(new ScanCommand({ TableName: chat.tableName }));
      return (page.Items ?? []).map((item) => item[CONNECTION_KEY].S!).sort();
    }
  });
}

function summary(frame: ServerFrame | undefined): string {
  if (!frame) return "the end of the connection";
  const text = frame.payload.subarray(0, 80).toString();
  return `opcode ${frame.opcode} "${text}"`;
}
