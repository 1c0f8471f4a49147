import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HandlerName } from "../handlers/routes";
import { writeBundle } from "../local/lambda-runtime";
import { FakeConnectionsApi } from "./support/connections-api";
import { TEST_CREDENTIALS, TEST_REGION, TestDynamo } from "./support/dynamo";
import { websocketEvent } from "./support/handlers";
import { LambdaContainer } from "./support/lambda-ric";
import { RuntimeApi } from "./support/runtime-api";
import { PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

// Each deployable bundle runs as Lambda runs it: aws-lambda-ric (the bootstrap of Lambda's Node
// images) imports index.mjs, takes events from a Runtime API and posts the results back, with
// the component's JSON log format. What is checked here is what only that path can break: the
// handler export and its arity, the results' serialization, and the shape of the log records.

const MISSING_TABLE = "no-such-table";
const LISTENER = "listener000000A=";
const SENDER = "sender00000000A=";
// A cold start (the runtime and the bundle loading) and the invocation itself.
const INVOKE_TIMEOUT_MS = STARTUP_MS;

interface Container {
  api: RuntimeApi;
  lambda: LambdaContainer;
}

describe("handler bundles under Lambda's runtime interface client (aws-lambda-ric)", function () {
  this.timeout(2 * INVOKE_TIMEOUT_MS);
  let dynamo: TestDynamo;
  let connections: FakeConnectionsApi;
  let dir: string;
  // A table per test, holding LISTENER only: what one test records does not reach the next.
  let table: string;
  const containers: Container[] = [];

  before(async function () {
    [dynamo, connections] = await Promise.all([TestDynamo.start(), FakeConnectionsApi.start()]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-ric-"));
  });
  beforeEach(async function () {
    connections.reset();
    table = await dynamo.createConnectionsTable();
    await dynamo.putConnections(table, [{ id: LISTENER, expiresAt: 4_000_000_000 }]);
  });
  afterEach(async function () {
    await Promise.all(
      containers.splice(0).map(async ({ api, lambda }) => {
        await lambda.stop();
        await api.stop();
      }),
    );
  });
  after(async function () {
    await Promise.all([dynamo.stop(), connections.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a container for `handler`'s bundle against a Runtime API of its own. */
  async function container(
    handler: HandlerName,
    options: { handlerSetting?: string; tableName?: string; unset?: string[] } = {},
  ): Promise<Container> {
    const bundlePath = await writeBundle(handler, dir);
    const api = await RuntimeApi.start();
    const lambda = LambdaContainer.start({
      taskRoot: path.dirname(bundlePath),
      handler: options.handlerSetting,
      runtimeApi: api.address,
      functionName: `websocket-chat-${handler}`,
      unset: options.unset,
      environment: {
        // As the component configures every function.
        AWS_LAMBDA_LOG_FORMAT: "JSON",
        TABLE_NAME: options.tableName ?? table,
        MANAGEMENT_ENDPOINT: connections.endpoint,
        // As Lambda sets them: the region and the execution role's session credentials.
        AWS_REGION: TEST_REGION,
        AWS_DEFAULT_REGION: TEST_REGION,
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: "test-session-token",
        // Only here: the table is local.
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      },
    });
    const started = { api, lambda };
    containers.push(started);
    return started;
  }

  async function invoke({ api, lambda }: Container, event: unknown) {
    try {
      return await Promise.race([
        api.invoke(event, INVOKE_TIMEOUT_MS),
        lambda.exited.then((code) => {
          throw new Error(`The runtime exited (${code}) before answering`);
        }),
      ]);
    } catch (err) {
      // Say why: the runtime's own records usually tell.
      throw new Error(
        `${(err as Error).message}\n  runtime stdout:\n${lambda.lines.join("\n")}\n  stderr:\n${lambda.stderr.join("")}`,
        { cause: err },
      );
    }
  }

  it("the connect bundle records the connection and answers 200, cold and warm", async function () {
    const lambda = await container("connect");
    for (const id of ["ricConnect0001A=", "ricConnect0002A="]) {
      const outcome = await invoke(lambda, websocketEvent("CONNECT", "$connect", id));
      assert.deepEqual(outcome.kind === "response" && outcome.body, {
        statusCode: 200,
        body: "Connected",
      });
      assert.ok((await dynamo.ids(table)).includes(id), `${id} is not in the table`);
    }
    // The runtime asks for more after posting its answer, so the third request may still be on
    // its way when the second answer arrives.
    await within(PROMPTLY_MS, "the runtime to ask for a third event", lambda.api.asked(3));
    assert.equal(lambda.api.nextRequests, 3, "one container serves both, then waits for more");
  });

  it("the disconnect bundle removes the record and answers 200", async function () {
    await dynamo.putConnections(table, [{ id: "ricLeaving001A=", expiresAt: 4_000_000_000 }]);
    const outcome = await invoke(
      await container("disconnect"),
      websocketEvent("DISCONNECT", "$disconnect", "ricLeaving001A="),
    );
    assert.deepEqual(outcome.kind === "response" && outcome.body, {
      statusCode: 200,
      body: "Disconnected",
    });
    assert.ok(!(await dynamo.ids(table)).includes("ricLeaving001A="));
  });

  it("the message bundle broadcasts to every connection and logs the broadcast as a JSON object", async function () {
    await dynamo.putConnections(table, [{ id: SENDER, expiresAt: 4_000_000_000 }]);
    const lambda = await container("message");
    const outcome = await invoke(
      lambda,
      websocketEvent("MESSAGE", "sendmessage", SENDER, '{"action":"sendmessage","data":"hi"}'),
    );
    assert.deepEqual(outcome.kind === "response" && outcome.body, {
      statusCode: 200,
      body: "Sent",
    });
    assert.deepEqual(connections.delivered.get(LISTENER), ["hi"]);

    // Lambda's JSON format: one record per line, the handler's object nested as `message`
    // (an escaped string there would be unreadable to CloudWatch Logs Insights).
    const broadcast = lambda.lambda
      .jsonRecords()
      .find((record) => (record.message as { event?: string } | undefined)?.event === "broadcast");
    assert.ok(broadcast, `no broadcast record in:\n${lambda.lambda.lines.join("\n")}`);
    assert.equal(broadcast.level, "INFO");
    assert.equal(broadcast.requestId, outcome.requestId);
    assert.equal(typeof broadcast.timestamp, "string");
    assert.deepEqual(
      {
        ...(broadcast.message as Record<string, unknown>),
        durationMs: undefined,
      },
      {
        event: "broadcast",
        connectionId: SENDER,
        room: "general",
        delivered: 2,
        stored: false, // no history table here
        failed: 0,
        gone: 0,
        connecting: 0,
        failures: {},
        durationMs: undefined,
      },
    );
  });

  it("the default bundle replies to the sender only and answers 400", async function () {
    const outcome = await invoke(
      await container("default"),
      websocketEvent("MESSAGE", "$default", SENDER, "hello?"),
    );
    assert.equal(
      outcome.kind === "response" && (outcome.body as { statusCode: number }).statusCode,
      400,
    );
    const reply = JSON.parse(connections.delivered.get(SENDER)?.[0] ?? "null") as {
      error?: string;
    } | null;
    assert.equal(reply?.error, "UnknownAction");
    assert.equal(connections.delivered.get(LISTENER), undefined);
  });

  it("a handler's error log is a JSON record at level ERROR, its fields an object", async function () {
    const lambda = await container("disconnect", { tableName: MISSING_TABLE });
    const outcome = await invoke(
      lambda,
      websocketEvent("DISCONNECT", "$disconnect", "ricLeaving002A="),
    );
    assert.deepEqual(outcome.kind === "response" && outcome.body, {
      statusCode: 200,
      body: "Disconnected",
    });
    const failed = lambda.lambda
      .jsonRecords()
      .find(
        (record) =>
          (record.message as { event?: string } | undefined)?.event === "disconnect_failed",
      );
    assert.ok(failed, `no disconnect_failed record in:\n${lambda.lambda.lines.join("\n")}`);
    assert.equal(failed.level, "ERROR");
    assert.equal(failed.requestId, outcome.requestId);
    assert.equal((failed.message as { errorName?: string }).errorName, "ResourceNotFoundException");
  });

  it("no line the handlers write under the JSON format is anything but a JSON record", async function () {
    const lambda = await container("message");
    await invoke(
      lambda,
      websocketEvent("MESSAGE", "sendmessage", SENDER, '{"action":"sendmessage","data":"x"}'),
    );
    await invoke(lambda, websocketEvent("MESSAGE", "sendmessage", SENDER, "not json"));
    const notJson = lambda.lambda.lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== "object";
      } catch {
        return true;
      }
    });
    assert.deepEqual(notJson, []);
    const escaped = lambda.lambda
      .jsonRecords()
      .filter((record) => typeof record.message === "string" && record.message.startsWith("{"));
    assert.deepEqual(escaped, [], "a handler logged JSON text, which the runtime escaped");
  });

  it("a handler that throws fails the invocation with its error (POST .../error)", async function () {
    // A function deployed without its table: the message route cannot work and says why.
    const outcome = await invoke(
      await container("message", { unset: ["TABLE_NAME"] }),
      websocketEvent("MESSAGE", "sendmessage", SENDER, '{"action":"sendmessage","data":"hi"}'),
    );
    assert.equal(outcome.kind, "error");
    assert.deepEqual(
      outcome.kind === "error" && [outcome.body.errorType, outcome.body.errorMessage],
      ["Error", "Environment variable TABLE_NAME is not set"],
    );
    assert.equal(connections.delivered.size, 0);
  });

  it("a missing export fails the start with Runtime.HandlerNotFound and ends the process", async function () {
    const { api, lambda } = await container("message", { handlerSetting: "index.nosuchexport" });
    const initError = await within(
      STARTUP_MS,
      "the runtime to report its failed start (POST /runtime/init/error)",
      Promise.race([
        api.initError,
        lambda.exited.then((code) => {
          throw new Error(`the runtime exited (${code}) without reporting an init error`);
        }),
      ]),
    );
    assert.equal(initError.errorType, "Runtime.HandlerNotFound");
    assert.equal(initError.body.errorType, "Runtime.HandlerNotFound");
    assert.match(initError.body.errorMessage, /index\.nosuchexport is undefined or not exported/);
    assert.notEqual(await lambda.exited, 0);
    assert.equal(api.nextRequests, 0, "a runtime that failed to start asked for events");
  });
});
