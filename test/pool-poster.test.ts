import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { bundleModule } from "../handlers/bundle";
import { broadcast } from "../handlers/lib/broadcast";
import { RoomMember } from "../handlers/lib/connection-store";
import { PostPolicy } from "../handlers/lib/connection-poster";
import { InFlightWindow, MAX_IN_FLIGHT, poolPoster } from "../handlers/lib/pool-poster";
import { localCertificate } from "../local/certificate";
import { captureConsole } from "./support/captured-log";
import { TEST_CREDENTIALS, TEST_REGION } from "./support/dynamo";
import { STARTUP_MS } from "./support/within";

const run = promisify(execFile);

describe("in-flight window (pool-poster.ts)", function () {
  it("keeps 32 posts in flight before any round trip is measured", function () {
    assert.equal(new InFlightWindow().limit(), 32);
  });

  it("grows by one post per answer, up to what 10,000 posts/s need over the shortest round trip", function () {
    const window = new InFlightWindow();
    for (let i = 0; i < 10; i++) window.answered(40, false, 1_000 + i);
    assert.equal(window.limit(), 42, "10 answers, 10 posts more");
    for (let i = 0; i < 1_000; i++) window.answered(40, false, 2_000 + i);
    // 10,000/s x 40 ms x 1.25 headroom
    assert.equal(window.limit(), 500);
  });

  it("never goes past its maximum, nor under 32 however short the round trip", function () {
    const far = new InFlightWindow(MAX_IN_FLIGHT);
    for (let i = 0; i < 2_000; i++) far.answered(200, false, i);
    assert.equal(far.limit(), MAX_IN_FLIGHT);
    const near = new InFlightWindow();
    for (let i = 0; i < 2_000; i++) near.answered(0.2, false, i);
    assert.equal(near.limit(), 32);
  });

  it("sizes for the shortest round trip, not the ones slowed by queueing", function () {
    const window = new InFlightWindow();
    for (let i = 0; i < 1_000; i++) window.answered(i % 10 === 0 ? 10 : 80, false, i);
    assert.equal(window.roundTripMs(), 10);
    assert.equal(window.limit(), 125);
  });

  it("forgets a round trip after two 10-second periods, when the route got slower", function () {
    const window = new InFlightWindow();
    for (let i = 0; i < 1_000; i++) window.answered(10, false, i);
    window.answered(40, false, 15_000);
    assert.equal(window.roundTripMs(), 10, "the previous period still counts");
    window.answered(40, false, 30_000);
    assert.equal(window.roundTripMs(), 40);
  });

  it("halves at a throttling answer (429), once per round trip, and grows back one post per window", function () {
    const window = new InFlightWindow();
    for (let i = 0; i < 1_000; i++) window.answered(40, false, i);
    assert.equal(window.limit(), 500);
    window.answered(40, true, 2_000);
    assert.equal(window.limit(), 250);
    window.answered(40, true, 2_010); // the same burst
    assert.equal(window.limit(), 250);
    window.answered(40, true, 2_050);
    assert.equal(window.limit(), 125);
    for (let i = 0; i < 130; i++) window.answered(40, false, 2_100);
    assert.equal(window.limit(), 126, "one more after a window of answers");
  });
});

/** An @connections stand-in on a free port: answers each POST after `delayMs`, by a script. */
class SlowApi {
  readonly received: { id: string; remotePort?: number }[] = [];
  inFlight = 0;
  most = 0;
  delayMs = 0;
  /** The status for a connection id; 200 for the rest. */
  answer: (id: string, attempt: number) => number | "hang" = () => 200;
  private readonly attempts = new Map<string, number>();

  private constructor(private readonly server: http.Server) {
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      req.on("end", () => {
        const id = decodeURIComponent((req.url ?? "").split("/").pop() ?? "");
        const attempt = (this.attempts.get(id) ?? 0) + 1;
        this.attempts.set(id, attempt);
        this.received.push({ id, remotePort: req.socket.remotePort });
        this.most = Math.max(this.most, ++this.inFlight);
        const status = this.answer(id, attempt);
        if (status === "hang") return;
        setTimeout(() => {
          this.inFlight--;
          const errorType =
            status === 410 ? "GoneException" : status === 429 ? "LimitExceededException" : "";
          res
            .writeHead(status, errorType ? { "x-amzn-ErrorType": errorType } : {})
            .end(status === 200 ? "" : '{"message":"scripted"}');
        }, this.delayMs);
      });
    });
  }

  static async start(): Promise<SlowApi> {
    const server = http.createServer();
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new SlowApi(server);
  }

  /** A path of its own per test, so that each test's poster has a window of its own. */
  endpoint(stage: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${stage}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function* pagesOf(ids: string[]): AsyncGenerator<RoomMember[]> {
  for (let i = 0; i < ids.length; i += 100)
    yield ids
      .slice(i, i + 100)
      .map((connectionId) => ({ connectionId, room: "r", name: "n", structured: false }));
}

const FAST_RETRY: PostPolicy = {
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 2,
  requestTimeoutMs: 5_000,
  minAttemptMs: 1,
};

describe("broadcast on the pool poster", function () {
  let api: SlowApi;
  const savedEnv = { ...process.env };

  beforeEach(async function () {
    api = await SlowApi.start();
    Object.assign(process.env, {
      AWS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    });
  });
  afterEach(async function () {
    await api.stop();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  it("keeps more posts in flight over a 40 ms round trip than 128, on at most its maximum of sockets", async function () {
    api.delayMs = 40;
    const ids = Array.from({ length: 2_000 }, (_, i) => `far${i}`);
    const poster = poolPoster(api.endpoint("far"), MAX_IN_FLIGHT, FAST_RETRY);
    const result = await broadcast(
      pagesOf(ids),
      { plain: "hi" },
      {
        poster,
        forget: async () => true,
        concurrency: MAX_IN_FLIGHT,
      },
    );
    assert.equal(result.delivered, 2_000);
    assert.ok(api.most > 128, `at most ${api.most} posts in flight`);
    assert.ok(api.most <= MAX_IN_FLIGHT, `${api.most} posts in flight`);
    const sockets = new Set(api.received.map((r) => r.remotePort)).size;
    assert.ok(sockets <= MAX_IN_FLIGHT, `${sockets} sockets`);
  });

  it("retries throttled posts (429) until they go through, and forgets only the recipient that answered 410", async function () {
    api.answer = (id, attempt) =>
      id === "gone" ? 410 : id.startsWith("busy") && attempt < 3 ? 429 : 200;
    const forgotten: string[] = [];
    const ids = ["a", "busy1", "gone", "busy2", "b"];
    const result = await broadcast(
      pagesOf(ids),
      { plain: "hi" },
      {
        poster: poolPoster(api.endpoint("throttled"), MAX_IN_FLIGHT, FAST_RETRY),
        forget: async (id) => {
          forgotten.push(id);
          return true;
        },
        concurrency: MAX_IN_FLIGHT,
      },
    );
    assert.deepEqual(result, { delivered: 4, gone: 1, connecting: 0, failed: 0, failures: {} });
    assert.deepEqual(forgotten, ["gone"]);
    assert.equal(api.received.filter((r) => r.id.startsWith("busy")).length, 6);
  });

  it("ends every post by the deadline, counting the unanswered ones as failed", async function () {
    api.answer = (id) => (id.startsWith("silent") ? "hang" : 200);
    const ids = ["a", "silent1", "b", "silent2"];
    const deadline = Date.now() + 500;
    const logs = captureConsole();
    try {
      const result = await broadcast(
        pagesOf(ids),
        { plain: "hi" },
        {
          poster: poolPoster(api.endpoint("deadline"), MAX_IN_FLIGHT, FAST_RETRY),
          forget: async () => true,
          concurrency: MAX_IN_FLIGHT,
          deadline,
        },
      );
      const late = Date.now() - deadline;
      assert.ok(late < 1_000, `ended ${late} ms after the deadline`);
      assert.deepEqual(result.failures, { TimeoutError: 2 });
      assert.equal(result.delivered, 2);
    } finally {
      logs.restore();
    }
  });
});

describe("pool poster over TLS", function () {
  this.timeout(2 * STARTUP_MS);
  let dir: string;
  let server: https.Server;
  let endpoint: string;
  let received = 0;
  let bundlePath: string;

  before(async function () {
    const { key, cert, ca } = await localCertificate();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-pool-tls-"));
    fs.writeFileSync(path.join(dir, "ca.pem"), ca);
    server = https.createServer({ key, cert }, (req, res) => {
      req.resume();
      req.on("end", () => {
        received++;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}/dev`;
    bundlePath = path.join(dir, "index.mjs");
    fs.writeFileSync(
      bundlePath,
      await bundleModule(path.join(__dirname, "fixtures", "post-once.ts")),
    );
  });
  after(async function () {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the bundled post in a fresh Node, as a Lambda would, with `env`; its result. */
  async function postOnce(env: Record<string, string>): Promise<{ ok: boolean; error?: string }> {
    const script = `const { handler } = await import(process.argv[1]);
process.stdout.write(JSON.stringify(await handler({ endpoint: process.argv[2] })));`;
    const { stdout } = await run(
      process.execPath,
      ["--input-type=module", "-e", script, bundlePath, endpoint],
      {
        timeout: STARTUP_MS,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: TEST_REGION,
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
          ...env,
        },
      },
    );
    return JSON.parse(stdout) as { ok: boolean; error?: string };
  }

  it("trusts a private CA through NODE_EXTRA_CA_CERTS alone, as local mode's handlers do", async function () {
    received = 0;
    assert.deepEqual(await postOnce({ NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem") }), {
      ok: true,
    });
    assert.equal(received, 1);
  });

  it("refuses the same server without it, and sends nothing", async function () {
    received = 0;
    const result = await postOnce({});
    assert.equal(result.ok, false);
    assert.match(result.error ?? "", /certificate/i);
    assert.equal(received, 0);
  });
});
