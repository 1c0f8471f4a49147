import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalLambda, LocalLambdaOptions } from "../local/lambda-runtime";
import { CapturedLog } from "./support/captured-log";
import { eventually, PROMPTLY_MS, within } from "./support/within";

// A hand-written bundle: the runtime's contract is "an ES module exporting handler". Each
// execution environment loads it once, so INSTANCE tells environments apart. A shared counter
// (a SharedArrayBuffer in the event) lets invocations see each other without timing.
const PROBE = `
const INSTANCE = Math.random();
let running = 0;
export const handler = async (event, context) => {
  running++;
  try { return await probe(event, context); } finally { running--; }
};
async function probe(event, context) {
  if (event.throw) { const err = new Error("as asked"); err.name = "ProbeError"; throw err; }
  if (event.crash) { setImmediate(() => { throw new Error("outside any invocation"); }); return new Promise(() => {}); }
  if (event.spin) { for (;;); }
  if (event.tick) { setInterval(() => Atomics.add(event.tick, 0, 1), 5); return new Promise(() => {}); }
  if (event.gather) {
    // Arrive, then wait until \`event.expected\` invocations have arrived (or give up).
    const arrived = Atomics.add(event.gather, 0, 1) + 1;
    Atomics.store(event.gather, 1, Math.max(Atomics.load(event.gather, 1), arrived - Atomics.load(event.gather, 2)));
    const deadline = Date.now() + 5000;
    while (Atomics.load(event.gather, 0) < event.expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    Atomics.add(event.gather, 2, 1);
    return { instance: INSTANCE, running, all: Atomics.load(event.gather, 0) >= event.expected };
  }
  if (event.hold) {
    Atomics.add(event.hold, 1, 1);
    Atomics.wait(event.hold, 0, 0, 5000); // blocks this environment until released
    return { instance: INSTANCE };
  }
  if (event.instance) return { instance: INSTANCE };
  if (event.hog) { const hog = []; for (;;) hog.push(new Array(1e5).fill(hog.length)); }
  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
  if (event.log) { console.log("out: " + event.log); console.error("err: " + event.log); }
  return { env: { ...process.env }, functionName: context.functionName, remaining: context.getRemainingTimeInMillis() };
}
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

  const start = (
    timeoutMs = 5_000,
    log?: (line: string) => void,
    options: Partial<LocalLambdaOptions> = {},
  ) =>
    LocalLambda.start({
      bundlePath: path.join(dir, "index.mjs"),
      functionName: "probe",
      environment: { TABLE_NAME: "connections" },
      timeoutMs,
      log,
      ...options,
    });

  type Instance = { instance: number };
  const invokeAll = <T>(events: unknown[]) =>
    within(
      PROMPTLY_MS,
      `${events.length} invocations`,
      Promise.all(events.map((event) => lambda!.invoke<T>(event))),
    );

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
    // A second: long enough that the next invocation starts well within it on a loaded machine.
    lambda = await start(1_000);
    await assert.rejects(
      within(PROMPTLY_MS, "the probe to time out", lambda.invoke({ sleepMs: 10_000 })),
      { name: "TimeoutError" },
    );
    const { remaining } = await within(
      PROMPTLY_MS,
      "the probe's next answer",
      lambda.invoke<{ remaining: number }>({}),
    );
    assert.ok(remaining > 0 && remaining <= 1_000, `remaining ${remaining} ms`);
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

  describe("Lambda's concurrency model", () => {
    it("runs concurrent invocations at once, each in an environment of its own", async () => {
      lambda = await start(5_000, undefined, { concurrency: 3 });
      const gather = new Int32Array(new SharedArrayBuffer(12));
      const results = await invokeAll<Instance & { running: number; all: boolean }>(
        [1, 2, 3].map(() => ({ gather, expected: 3 })),
      );
      assert.ok(
        results.every((result) => result.all),
        "all three were running at the same time",
      );
      assert.equal(new Set(results.map((result) => result.instance)).size, 3);
      assert.ok(
        results.every((result) => result.running === 1),
        "one invocation per environment",
      );
      assert.equal(lambda.environments, 3);
    });

    it("over the concurrency, invocations wait for a free environment, and all are served", async () => {
      lambda = await start(5_000, undefined, { concurrency: 2 });
      const gather = new Int32Array(new SharedArrayBuffer(12));
      const results = await invokeAll<Instance & { all: boolean }>(
        [1, 2, 3, 4, 5].map(() => ({ gather, expected: 2 })),
      );
      assert.equal(results.length, 5);
      assert.equal(Atomics.load(gather, 1), 2, "at most two ran at once");
      assert.equal(new Set(results.map((result) => result.instance)).size, 2);
      assert.equal(lambda.environments, 2);
    });

    it("reuses a warm environment for invocations one after another", async () => {
      lambda = await start(5_000, undefined, { concurrency: 4 });
      const first = await within(
        PROMPTLY_MS,
        "an answer",
        lambda.invoke<Instance>({ instance: 1 }),
      );
      const second = await within(
        PROMPTLY_MS,
        "an answer",
        lambda.invoke<Instance>({ instance: 1 }),
      );
      assert.equal(second.instance, first.instance);
      assert.equal(lambda.environments, 1);
    });

    it("stops a timed-out invocation with its environment: its work dies, the next is a cold start", async () => {
      lambda = await start(100);
      const { instance } = await within(
        PROMPTLY_MS,
        "an answer",
        lambda.invoke<Instance>({ instance: 1 }),
      );
      const tick = new Int32Array(new SharedArrayBuffer(4));
      await assert.rejects(within(PROMPTLY_MS, "the timeout", lambda.invoke({ tick })), {
        name: "TimeoutError",
        message: "Task timed out after 0.10 seconds",
      });
      const ticksAtTimeout = Atomics.load(tick, 0);
      assert.ok(ticksAtTimeout > 0, "the invocation was running");
      const next = await within(PROMPTLY_MS, "an answer", lambda.invoke<Instance>({ instance: 1 }));
      assert.notEqual(next.instance, instance, "a fresh environment");
      assert.ok(
        Atomics.load(tick, 0) <= ticksAtTimeout + 1,
        "the stopped invocation's timer is dead",
      );
    });

    it("stops even an invocation that never yields (a busy loop) at its timeout", async () => {
      lambda = await start(100);
      await assert.rejects(within(PROMPTLY_MS, "the timeout", lambda.invoke({ spin: true })), {
        name: "TimeoutError",
      });
      await within(PROMPTLY_MS, "an answer", lambda.invoke({ instance: 1 }));
    });

    it("fails the invocation whose runtime crashes, and serves the next from a fresh environment", async () => {
      lambda = await start(5_000, () => {});
      const { instance } = await within(
        PROMPTLY_MS,
        "an answer",
        lambda.invoke<Instance>({ instance: 1 }),
      );
      await assert.rejects(within(PROMPTLY_MS, "the crash", lambda.invoke({ crash: true })), {
        name: "Runtime.ExitError",
      });
      const next = await within(PROMPTLY_MS, "an answer", lambda.invoke<Instance>({ instance: 1 }));
      assert.notEqual(next.instance, instance);
    });

    it("keeps no environment after start: the first invocation is a cold start", async () => {
      lambda = await start();
      assert.equal(lambda.environments, 0);
      await within(PROMPTLY_MS, "an answer", lambda.invoke<Instance>({ instance: 1 }));
      assert.equal(lambda.environments, 1);
    });

    it("stops environments left idle, and starts a fresh one when needed", async () => {
      lambda = await start(5_000, undefined, { idleMs: 50 });
      const { instance } = await within(
        PROMPTLY_MS,
        "an answer",
        lambda.invoke<Instance>({ instance: 1 }),
      );
      await eventually("the idle environment to stop", () => lambda!.environments === 0);
      const next = await within(PROMPTLY_MS, "an answer", lambda.invoke<Instance>({ instance: 1 }));
      assert.notEqual(next.instance, instance);
    });

    it("needs the bundle file only at start: cold starts run from the loaded text", async () => {
      const bundlePath = path.join(dir, "deleted-after-start.mjs");
      fs.copyFileSync(path.join(dir, "index.mjs"), bundlePath);
      lambda = await start(5_000, undefined, { bundlePath, concurrency: 2 });
      fs.rmSync(bundlePath);
      const gather = new Int32Array(new SharedArrayBuffer(12));
      const results = await invokeAll<{ all: boolean }>(
        [1, 2].map(() => ({ gather, expected: 2 })),
      );
      assert.ok(results.every((result) => result.all));
      assert.equal(lambda.environments, 2);
    });

    it("throttles with TooManyRequestsException past 1,000 waiting invocations, and serves the rest", async () => {
      lambda = await start(10_000, undefined, { concurrency: 1 });
      const hold = new Int32Array(new SharedArrayBuffer(8));
      const held = lambda.invoke({ hold });
      await eventually("the first invocation to run", () => Atomics.load(hold, 1) === 1);
      const waiting = Array.from({ length: 1000 }, () => lambda!.invoke({ instance: 1 }));
      await assert.rejects(lambda.invoke({ instance: 1 }), { name: "TooManyRequestsException" });
      Atomics.store(hold, 0, 1);
      Atomics.notify(hold, 0);
      await within(PROMPTLY_MS, "every waiting invocation", Promise.all([held, ...waiting]));
    });

    it("throttles an invocation that waited maxWaitMs for an environment; it never runs", async () => {
      lambda = await start(10_000, undefined, { concurrency: 1, maxWaitMs: 100 });
      const hold = new Int32Array(new SharedArrayBuffer(8));
      const held = lambda.invoke({ hold });
      await eventually("the first invocation to run", () => Atomics.load(hold, 1) === 1);
      await assert.rejects(
        within(PROMPTLY_MS, "the waiting invocation's throttle", lambda.invoke({ hold })),
        { name: "TooManyRequestsException", message: /no execution environment came free/ },
      );
      Atomics.store(hold, 0, 1);
      Atomics.notify(hold, 0);
      await within(PROMPTLY_MS, "the first invocation", held);
      assert.equal(Atomics.load(hold, 1), 1, "the throttled invocation never ran");
      // The environment serves the next invocation as usual.
      await within(PROMPTLY_MS, "an answer", lambda.invoke({ instance: 1 }));
    });

    it("counts the time an invocation waited for an environment against its timeout", async () => {
      const timeoutMs = 3_000;
      const waitMs = 1_500;
      lambda = await start(timeoutMs, undefined, { concurrency: 1, maxWaitMs: 10_000 });
      const hold = new Int32Array(new SharedArrayBuffer(8));
      const held = lambda.invoke({ hold });
      await eventually("the first invocation to run", () => Atomics.load(hold, 1) === 1);
      const askedAt = Date.now();
      const waiting = lambda.invoke<{ remaining: number }>({});
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      Atomics.store(hold, 0, 1);
      Atomics.notify(hold, 0);
      await within(PROMPTLY_MS, "the first invocation", held);
      const { remaining } = await within(PROMPTLY_MS, "the waiting invocation", waiting);
      // Time only passes: whatever this machine's speed, at least waitMs went by since it was
      // asked for, so at most timeoutMs - waitMs can remain.
      assert.ok(
        remaining <= timeoutMs - waitMs,
        `${remaining} ms remained after waiting ${Date.now() - askedAt} ms`,
      );
    });

    it("gives the function Lambda's heap for its memory size: a handler that needs more fails, the next runs", async () => {
      lambda = await start(10_000, undefined, { memoryMb: 64 });
      const { env } = await within(
        PROMPTLY_MS,
        "an answer",
        lambda.invoke<{ env: Record<string, string> }>({}),
      );
      assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, "64");
      await assert.rejects(
        within(PROMPTLY_MS, "the out-of-memory end", lambda.invoke({ hog: true })),
        {
          name: "Runtime.ExitError",
        },
      );
      await within(PROMPTLY_MS, "an answer", lambda.invoke({ instance: 1 }));
    });

    it("close() fails invocations still running or waiting, and stops every environment", async () => {
      lambda = await start(10_000, undefined, { concurrency: 1 });
      const tick = new Int32Array(new SharedArrayBuffer(4));
      const outcomes = Promise.allSettled([
        lambda.invoke({ tick }),
        lambda.invoke({ instance: 1 }),
      ]);
      await eventually("the running invocation to start", () => Atomics.load(tick, 0) > 0);
      await lambda.close();
      for (const outcome of await outcomes) {
        assert.equal(outcome.status, "rejected");
        assert.equal((outcome.reason as Error).name, "Runtime.ExitError");
      }
      assert.equal(lambda.environments, 0);
    });
  });
});
