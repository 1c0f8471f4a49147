import { strict as assert } from "assert";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import { isBuiltin } from "module";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { HANDLER_NAMES, HandlerName, routeKeyOf } from "../handlers/routes";
import { bundleHandler, bundleModule } from "../handlers/bundle";
import { writeBundle } from "../local/lambda-runtime";
import { FakeConnectionsApi } from "./support/connections-api";
import { TEST_CREDENTIALS, TEST_REGION, TestDynamo } from "./support/dynamo";
import { websocketEvent } from "./support/handlers";

const run = promisify(execFile);

// Lambda runs the bundles on nodejs24.x or nodejs22.x: every bundle is also loaded by each Node
// binary listed here (colon-separated paths; `.ci/run` sets Node 22's). CI must not skip them.
const EXTRA_NODES = (process.env.CHAT_TEST_EXTRA_NODES ?? "").split(":").filter(Boolean);
const NODES = [process.execPath, ...EXTRA_NODES];

// What Lambda's Node runtime does with `index.handler`: import index.mjs in a fresh process and
// call the export with (event, context). Node 24 refuses callback-style (3-argument) handlers.
const COLD_START = `
const [bundlePath, event] = process.argv.slice(1);
const { handler } = await import(bundlePath);
if (typeof handler !== "function" || handler.length > 2) throw new Error("not an async (event, context) handler");
const result = await handler(JSON.parse(event), { getRemainingTimeInMillis: () => 29000 });
process.stdout.write("\\n" + process.version + "\\n" + JSON.stringify(result));
`;

const versions = new Map<string, string>();

/** The `process.version` of a Node binary, e.g. "v22.23.3". */
function nodeVersion(node: string): string {
  let version = versions.get(node);
  if (!version) {
    version = execFileSync(node, ["-p", "process.version"], { encoding: "utf8" }).trim();
    versions.set(node, version);
  }
  return version;
}

function nodeLabel(node: string): string {
  return `Node ${node === process.execPath ? process.version : nodeVersion(node)}`;
}

describe("handler bundles as deployed", function () {
  let dynamo: TestDynamo;
  let api: FakeConnectionsApi;
  let dir: string;
  let tableName: string;

  before(async function () {
    [dynamo, api] = await Promise.all([TestDynamo.start(), FakeConnectionsApi.start()]);
    tableName = await dynamo.createConnectionsTable();
    await dynamo.putConnections(tableName, [{ id: "listener000000A=", expiresAt: 4_000_000_000 }]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-bundles-"));
  });
  after(async function () {
    await Promise.all([dynamo.stop(), api.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // A route not listed gets its own action from a connected client, and answers 200.
  const samples: Partial<Record<HandlerName, [ReturnType<typeof websocketEvent>, number]>> = {
    connect: [websocketEvent("CONNECT", "$connect", "cold0000000000A="), 200],
    message: [
      websocketEvent(
        "MESSAGE",
        "sendmessage",
        "listener000000A=",
        '{"action":"sendmessage","data":"hi"}',
      ),
      200,
    ],
    history: [
      websocketEvent("MESSAGE", "history", "listener000000A=", '{"action":"history"}'),
      200,
    ],
    who: [websocketEvent("MESSAGE", "who", "listener000000A=", '{"action":"who"}'), 200],
    default: [websocketEvent("MESSAGE", "$default", "cold0000000000A=", "hello?"), 400],
    disconnect: [websocketEvent("DISCONNECT", "$disconnect", "cold0000000000A="), 200],
  };

  it("has the extra Node binaries CI asks for (CHAT_TEST_EXTRA_NODES)", function () {
    if (EXTRA_NODES.length === 0 && process.env.CI === "true")
      assert.fail(
        "CI=true but CHAT_TEST_EXTRA_NODES names no Node binary: Node 22 would go untested",
      );
    for (const node of EXTRA_NODES)
      assert.ok(fs.existsSync(node), `CHAT_TEST_EXTRA_NODES names ${node}, which does not exist`);
  });

  for (const node of NODES) {
    for (const name of HANDLER_NAMES) {
      it(`the ${name} bundle loads as an ES module in a fresh ${nodeLabel(node)} process and answers a sample event`, async function () {
        const bundlePath = await writeBundle(name, dir);
        const [event, expectedStatus] = samples[name] ?? [
          websocketEvent(
            "MESSAGE",
            routeKeyOf(name),
            "listener000000A=",
            JSON.stringify({ action: routeKeyOf(name) }),
          ),
          200,
        ];
        api.reset();
        const { stdout } = await run(
          node,
          ["--input-type=module", "-e", COLD_START, bundlePath, JSON.stringify(event)],
          {
            env: {
              PATH: process.env.PATH,
              AWS_REGION: TEST_REGION,
              AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
              AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
              AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
              TABLE_NAME: tableName,
              MANAGEMENT_ENDPOINT: api.endpoint,
            },
          },
        );
        // The handler logs to stdout too; the result is the last line.
        const [runtime, result] = stdout.trim().split("\n").slice(-2);
        assert.equal(runtime, nodeVersion(node), "the bundle ran on another Node");
        assert.equal((JSON.parse(result) as { statusCode: number }).statusCode, expectedStatus);
        if (name === "message") assert.deepEqual(api.delivered.get("listener000000A="), ["hi"]);
      });
    }
  }

  for (const name of HANDLER_NAMES) {
    it(`the ${name} bundle loads Node built-ins with require, not import (no ES module facades at cold start)`, async function () {
      const code = await bundleHandler(name);
      // Static and dynamic imports (and the text of SDK messages that mention one) of Node
      // built-ins: only the banner's own import of createRequire may remain.
      const importedBuiltins = [
        ...code.matchAll(/\bimport\s*(?:[\w*{}\s,$]+from\s*|\(\s*)?["']([^"']+)["']/g),
      ]
        .map((match) => match[1])
        .filter((specifier) => isBuiltin(specifier));
      assert.deepEqual(importedBuiltins, ["module"]);
      assert.match(code, /\("(?:node:)?crypto"\)/, "the bundle loads no built-in at all");
    });
  }

  // undici's Client validates its options with these messages; its index brings fetch along.
  const UNDICI_CLIENT = "invalid keepAliveMaxTimeout";
  const UNDICI_FETCH = "fetch failed";

  it("the message bundle posts on undici's client alone, not its index (fetch, WebSocket, mocks)", async function () {
    const code = await bundleHandler("message");
    assert.ok(code.includes(UNDICI_CLIENT), "no undici client in the message bundle");
    assert.ok(!code.includes(UNDICI_FETCH), "undici's fetch is in the message bundle");
  });

  for (const name of HANDLER_NAMES.filter((handler) => handler !== "message")) {
    it(`the ${name} bundle carries no undici: it posts on node:https, as light as before`, async function () {
      assert.ok(!(await bundleHandler(name)).includes(UNDICI_CLIENT));
    });
  }

  it("a bundled CommonJS dependency can require Node built-ins (the ESM require banner)", async function () {
    const bundlePath = path.join(dir, "commonjs", "index.mjs");
    fs.mkdirSync(path.dirname(bundlePath), { recursive: true });
    fs.writeFileSync(
      bundlePath,
      await bundleModule(path.join(__dirname, "fixtures", "commonjs-handler.mjs")),
    );
    const { stdout } = await run(process.execPath, [
      "--input-type=module",
      "-e",
      COLD_START,
      bundlePath,
      '{"text":"abc"}',
    ]);
    const result: unknown = JSON.parse(stdout.trim().split("\n").pop()!);
    assert.deepEqual(result, {
      statusCode: 200,
      body: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    });
  });
});
