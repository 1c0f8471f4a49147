import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalLambda } from "../local/lambda-runtime";
import { CapturedLog } from "./support/captured-log";
import { PROMPTLY_MS, within } from "./support/within";

// A hand-written bundle: the runtime's contract is "an ES module exporting handler".
const PROBE = `
export const handler = async (event, context) => {
  if (event.throw) { const err = new Error("as asked"); err.name = "ProbeError"; throw err; }
  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
  if (event.log) { console.log("out: " + event.log); console.error("err: " + event.log); }
  return { env: { ...process.env }, functionName: context.functionName, remaining: context.getRemainingTimeInMillis() };
};
`;

describe("local Lambda runtime", () => {
  let dir: string;
  let lambda: LocalLambda | undefined;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-runtime-"));
    fs.writeFileSync(path.join(dir, "index.mjs"), PROBE);
  });
  afterEach(async () => {
    await lambda?.close();
    lambda = undefined;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const start = (timeoutMs = 5_000, log?: (line: string) => void) =>
    LocalLambda.start({
      bundlePath: path.join(dir, "index.mjs"),
      functionName: "probe",
      environment: { TABLE_NAME: "connections" },
      timeoutMs,
      log,
    });

  it("gives the function its own environment and nothing else from this process", async () => {
    process.env.LEAKY_SHELL_VARIABLE = "from the developer's shell";
    try {
      lambda = await start();
      const { env, functionName } = await within(
        PROMPTLY_MS,
        "the probe's answer",
        lambda.invoke<{ env: Record<string, string>; functionName: string }>({}),
      );
      assert.equal(env.TABLE_NAME, "connections");
      assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, "probe");
      assert.equal(functionName, "probe");
      assert.equal(env.LEAKY_SHELL_VARIABLE, undefined);
    } finally {
      delete process.env.LEAKY_SHELL_VARIABLE;
    }
  });

  it("rejects with the handler's error name and message when it throws", async () => {
    lambda = await start();
    await assert.rejects(within(PROMPTLY_MS, "the probe's error", lambda.invoke({ throw: true })), {
      name: "ProbeError",
      message: "as asked",
    });
  });

  it("rejects an invocation that runs past the timeout, and keeps serving the next", async () => {
    lambda = await start(100);
    await assert.rejects(
      within(PROMPTLY_MS, "the probe to time out", lambda.invoke({ sleepMs: 1_000 })),
      { name: "TimeoutError" },
    );
    const { remaining } = await within(
      PROMPTLY_MS,
      "the probe's next answer",
      lambda.invoke<{ remaining: number }>({}),
    );
    assert.ok(remaining > 0 && remaining <= 100);
  });

  it("hands each line the function writes to stdout and stderr to its log sink, and prints none", async () => {
    const logs = new CapturedLog();
    const printed: string[] = [];
    const streams = [process.stdout, process.stderr];
    const originals = streams.map((stream) => stream.write.bind(stream));
    for (const stream of streams)
      stream.write = (chunk: unknown) => (printed.push(String(chunk)), true);
    try {
      lambda = await start(5_000, logs.write);
      await within(PROMPTLY_MS, "the probe's answer", lambda.invoke({ log: "one" }));
      await logs.line(/^out: one$/);
      await logs.line(/^err: one$/);
    } finally {
      streams.forEach((stream, i) => (stream.write = originals[i]));
    }
    assert.deepEqual(logs.lines.slice().sort(), ["err: one", "out: one"]);
    assert.deepEqual(
      printed.filter((chunk) => chunk.includes("one")),
      [],
    );
  });
});
