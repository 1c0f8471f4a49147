import { strict as assert } from "assert";
import * as net from "net";
import { CapturedLog } from "./support/captured-log";
import { FakeConnectionsApi } from "./support/connections-api";
import { TestDynamo } from "./support/dynamo";
import { HandlerResult, startHandler, TestHandler, websocketEvent } from "./support/handlers";

// A short Lambda timeout, so that a handler that overruns it fails fast ("Task timed out"). The
// handlers keep 1 s of it back to answer, so their calls get 0.5 s.
const LAMBDA_TIMEOUT_MS = 1_500;
const LIVE = 4_000_000_000; // an expiry far in the future (epoch seconds)

/** A TCP server on a free loopback port that takes requests and never answers: a hung service. */
async function startSilentServer(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.resume(); // read everything, answer nothing
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("every handler answers within its Lambda timeout when a service never answers", function () {
  let table: string;
  let dynamo: TestDynamo;
  let api: FakeConnectionsApi;
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  // Each handler, once with the services answering (but the scripted API) and once with a
  // DynamoDB that never answers.
  const handlers = new Map<string, TestHandler>();

  before(async function () {
    [dynamo, api, silent] = await Promise.all([
      TestDynamo.start(),
      FakeConnectionsApi.start(),
      startSilentServer(),
    ]);
    table = await dynamo.createConnectionsTable("deadlines");
    const environment = (dynamoEndpoint: string) => ({
      TABLE_NAME: table,
      MANAGEMENT_ENDPOINT: api.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    });
    const started = await Promise.all(
      [
        ...(["default", "message"] as const).map((name) => [name, dynamo.endpoint] as const),
        ...(["connect", "disconnect", "message"] as const).map(
          (name) => [name, silent.endpoint] as const,
        ),
      ].map(async ([name, endpoint]) => {
        const handler = await startHandler(
          name,
          environment(endpoint),
          new CapturedLog(),
          LAMBDA_TIMEOUT_MS,
        );
        return [
          `${name}${endpoint === silent.endpoint ? " (silent DynamoDB)" : ""}`,
          handler,
        ] as const;
      }),
    );
    for (const [key, handler] of started) handlers.set(key, handler);
  });
  beforeEach(function () {
    api.reset();
  });
  after(async function () {
    await Promise.all([...handlers.values()].map((handler) => handler.close()));
    await Promise.all([dynamo?.stop(), api?.stop(), silent?.stop()]);
  });

  /** Runs a handler; rejects with "Task timed out" if it overruns its Lambda timeout. */
  function invoke(name: string, event: ReturnType<typeof websocketEvent>): Promise<HandlerResult> {
    return handlers.get(name)!.invoke(event);
  }

  /** The first `event` entry `name` logged for `connectionId`. */
  function logged(name: string, event: string, connectionId: string) {
    return handlers.get(name)!.logs.entry(event, { connectionId });
  }

  it("$default gives up on its reply in time, and posts it only once", async function () {
    const sender = "d+/000000000000=";
    api.answer(sender, "hang");
    const result = await invoke("default", websocketEvent("MESSAGE", "$default", sender, "?"));
    assert.equal(result.statusCode, 400);
    assert.equal(api.attempts.get(sender), 1, "a post that got no answer is not sent again");
    assert.equal((await logged("default", "reply_failed", sender)).errorName, "TimeoutError");
  });

  it("the message route gives up on its bad-request reply in time", async function () {
    const sender = "b+/000000000000=";
    await dynamo.putConnections(table, [{ id: sender, expiresAt: LIVE, room: "alone" }]);
    api.answer(sender, "hang");
    const result = await invoke(
      "message",
      websocketEvent("MESSAGE", "sendmessage", sender, "not json"),
    );
    assert.equal(result.statusCode, 400);
    assert.equal(api.attempts.get(sender), 1);
    assert.equal((await logged("message", "reply_failed", sender)).errorName, "TimeoutError");
  });

  it("a broadcast reaches everyone else and answers in time when one recipient never answers", async function () {
    const [sender, stuck, other] = ["s+/000000000000=", "h+/000000000000=", "o+/000000000000="];
    await dynamo.putConnections(
      table,
      [sender, stuck, other].map((id) => ({ id, expiresAt: LIVE })),
    );
    api.answer(stuck, "hang");
    const result = await invoke(
      "message",
      websocketEvent("MESSAGE", "sendmessage", sender, JSON.stringify({ data: "hi" })),
    );
    assert.equal(result.statusCode, 200);
    assert.deepEqual([...api.delivered.keys()].sort(), [other, sender].sort());
    assert.equal(api.attempts.get(stuck), 1);
    const counted = await logged("message", "broadcast", sender);
    assert.deepEqual(counted.failures, { TimeoutError: 1 });
  });

  it("$connect refuses the handshake (500) in time when DynamoDB never answers", async function () {
    const result = await invoke(
      "connect (silent DynamoDB)",
      websocketEvent("CONNECT", "$connect", "c+/000000000000="),
    );
    assert.equal(result.statusCode, 500);
    const failed = await logged("connect (silent DynamoDB)", "connect_failed", "c+/000000000000=");
    assert.equal(failed.errorName, "AbortError");
  });

  it("$disconnect answers in time when DynamoDB never answers", async function () {
    const result = await invoke(
      "disconnect (silent DynamoDB)",
      websocketEvent("DISCONNECT", "$disconnect", "x+/000000000000="),
    );
    assert.equal(result.statusCode, 200);
    const failed = await logged(
      "disconnect (silent DynamoDB)",
      "disconnect_failed",
      "x+/000000000000=",
    );
    assert.equal(failed.errorName, "AbortError");
  });

  it("the message route answers 500 in time when DynamoDB never answers", async function () {
    const result = await invoke(
      "message (silent DynamoDB)",
      websocketEvent("MESSAGE", "sendmessage", "m+/000000000000=", JSON.stringify({ data: "x" })),
    );
    assert.equal(result.statusCode, 500);
    const failed = await logged(
      "message (silent DynamoDB)",
      "broadcast_failed",
      "m+/000000000000=",
    );
    assert.equal(failed.errorName, "AbortError");
  });
});
