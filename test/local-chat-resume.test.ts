import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalChat, startLocalChat } from "../local/chat";
import { CapturedLog } from "./support/captured-log";
import { TestClient } from "./support/local-clients";
import { STARTUP_MS, within } from "./support/within";

type Frame = Record<string, unknown> & { type: string };
interface MessageFrame extends Frame {
  data: string;
  seq: number;
  id: string;
}
interface HistoryFrame extends Frame {
  messages: MessageFrame[];
  since?: number;
  complete?: boolean;
  latestSeq: number;
}

/**
 * Never missing a message, end to end: the deployable bundles in a local chat (dynalite, the
 * local gateway, two or more containers per function), driven by chat.v1 clients that are cut
 * off without a close frame, come back and resume.
 */
describe("local chat: seq, resume with since, acks and idempotent resends", function () {
  this.timeout(60_000);
  let logs = new CapturedLog();
  const chats: Array<{ chat: LocalChat; dir: string }> = [];
  const clients: TestClient[] = [];

  /** A chat whose stack sets `config` (Pulumi.dev.yaml keys without the project prefix). */
  async function startChat(config: Record<string, number> = {}): Promise<LocalChat> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-resume-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: websocket-chat\nruntime: nodejs\n");
    const lines = Object.entries({ messageRateBurst: 0, ...config }).map(
      ([key, value]) => `  websocket-chat:${key}: ${value}`,
    );
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), `config:\n${lines.join("\n")}\n`);
    const chat = await within(
      STARTUP_MS,
      "the local chat to start",
      startLocalChat({
        port: 0,
        projectDir: dir,
        functionLog: (line) => logs.write(line),
        concurrency: 4,
      }),
    );
    chats.push({ chat, dir });
    return chat;
  }

  async function connect(chat: LocalChat, name: string, room = "lobby"): Promise<TestClient> {
    const url = `${chat.url}?room=${room}&name=${name}`;
    const client = await TestClient.connect(url, { protocols: ["chat.v1"] });
    clients.push(client);
    return client;
  }

  /** The next `count` frames of `type` `client` receives, skipping others (notices, acks). */
  async function collect<F extends Frame>(client: TestClient, type: string, count: number) {
    const frames: F[] = [];
    while (frames.length < count) {
      const frame = JSON.parse(await client.next(`${type} frame ${frames.length + 1}/${count}`));
      if ((frame as Frame).type === type) frames.push(frame as F);
    }
    return frames;
  }

  const send = (client: TestClient, data: string, extra: Record<string, unknown> = {}) =>
    client.send(JSON.stringify({ action: "sendmessage", data, ...extra }));

  async function resume(client: TestClient, since: number): Promise<HistoryFrame> {
    await client.send(JSON.stringify({ action: "history", since }));
    return (await collect<HistoryFrame>(client, "history", 1))[0];
  }

  beforeEach(function () {
    logs = new CapturedLog();
  });
  afterEach(async function () {
    await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
    for (const { chat, dir } of chats.splice(0)) {
      await chat.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("5 senders x 20 messages at once: seq is exactly 1..100 and every client gets each once, in one order by seq", async function () {
    const chat = await startChat();
    const senders = await Promise.all(["a", "b", "c", "d", "e"].map((n) => connect(chat, n)));
    await Promise.all(
      senders.flatMap((sender, s) =>
        Array.from({ length: 20 }, (_, i) => send(sender, `${s}:${i}`)),
      ),
    );
    const received = await Promise.all(
      senders.map((client) => collect<MessageFrame>(client, "message", 100)),
    );
    const orders = received.map((frames) => {
      const seqs = frames.map((f) => f.seq).sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      return [...frames].sort((a, b) => a.seq - b.seq).map((f) => f.data);
    });
    for (const order of orders) assert.deepEqual(order, orders[0]);
    assert.equal(new Set(orders[0]).size, 100, "100 different messages, each once");
    for (const client of senders) assert.deepEqual(client.pending, [], "nothing more");
  });

  it("a client cut off without a close frame misses 30 messages, and resumes with exactly those, in order", async function () {
    const chat = await startChat();
    const [ann, bob] = [await connect(chat, "ann"), await connect(chat, "bob")];
    await send(ann, "before");
    const [last] = await collect<MessageFrame>(bob, "message", 1);
    bob.socket.terminate(); // no close frame: the network went away
    // Sent one after another, handled side by side: their seq is the order they were stored in.
    for (let i = 0; i < 30; i++) await send(ann, `missed ${i}`);
    const live = await collect<MessageFrame>(ann, "message", 31);
    const missed = live
      .filter((m) => m.seq > last.seq)
      .sort((a, b) => a.seq - b.seq)
      .map((m) => [m.seq, m.data]);

    const back = await connect(chat, "bob");
    const reply = await resume(back, last.seq);
    assert.deepEqual(
      { since: reply.since, complete: reply.complete, latestSeq: reply.latestSeq },
      { since: last.seq, complete: true, latestSeq: last.seq + 30 },
    );
    assert.deepEqual(
      reply.messages.map((m) => [m.seq, m.data]),
      missed,
    );
    assert.deepEqual(
      missed.map(([seq]) => seq),
      Array.from({ length: 30 }, (_, i) => last.seq + 1 + i),
    );
  });

  it("with historyLimit 10, the 30 missed messages take three requests, each from the last seq", async function () {
    const chat = await startChat({ historyLimit: 10 });
    const ann = await connect(chat, "ann");
    for (let i = 0; i < 30; i++) await send(ann, `m${i}`);
    const live = await collect<MessageFrame>(ann, "message", 30);

    const back = await connect(chat, "bob");
    const got: MessageFrame[] = [];
    let since = 0;
    for (let request = 1; request <= 3; request++) {
      const reply = await resume(back, since);
      assert.equal(reply.messages.length, 10, `request ${request}`);
      assert.equal(reply.complete, true);
      got.push(...reply.messages);
      since = reply.messages.at(-1)!.seq;
    }
    assert.deepEqual((await resume(back, since)).messages, [], "nothing more");
    assert.deepEqual(
      got.map((m) => [m.seq, m.data]),
      live.sort((a, b) => a.seq - b.seq).map((m) => [m.seq, m.data]),
    );
  });

  it("past the retention: complete is false, and what is left is there", async function () {
    const chat = await startChat({ historyRetentionSeconds: 1 });
    const ann = await connect(chat, "ann");
    await send(ann, "soon gone");
    await collect(ann, "message", 1);
    // The retention counts from the message's time: wait until it is past.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await send(ann, "still here");
    await collect(ann, "message", 1);
    const reply = await resume(ann, 0);
    assert.deepEqual(
      [reply.complete, reply.latestSeq, reply.messages.map((m) => m.data)],
      [false, 2, ["still here"]],
    );
  });

  it("a send cut off before its ack, sent again after reconnecting: one broadcast, two acks", async function () {
    const chat = await startChat();
    const [ann, bob] = [await connect(chat, "ann"), await connect(chat, "bob")];
    const clientId = "resend-after-drop-1";
    await send(ann, "only once", { clientId });
    // Stored and broadcast; Ann's connection drops before she has read her ack.
    const [broadcast] = await collect<MessageFrame>(bob, "message", 1);
    ann.socket.terminate(); // whatever had arrived unread is lost with it

    const back = await connect(chat, "ann");
    await send(back, "only once", { clientId });
    const [ack] = await collect<Frame>(back, "ack", 1);
    assert.deepEqual(ack, {
      type: "ack",
      clientId,
      id: broadcast.id,
      seq: broadcast.seq,
      duplicate: true,
    });
    // The first attempt was stored and broadcast then (its ack found the connection gone).
    await logs.entry("broadcast", { seq: broadcast.seq, room: "lobby" });

    // Another room: the same clientId is another message.
    const eve = await connect(chat, "eve", "elsewhere");
    await send(eve, "elsewhere", { clientId });
    const [eveAck] = await collect<Frame>(eve, "ack", 1);
    assert.equal(eveAck.duplicate, false);

    // Bob saw one broadcast: after it, only what came since (nothing from the resend).
    await send(bob, "marker");
    const [next] = await collect<MessageFrame>(bob, "message", 1);
    assert.equal(next.data, "marker");
    assert.equal(next.seq, broadcast.seq + 1);
  });
});
