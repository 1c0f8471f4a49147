import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { strict as assert } from "assert";
import * as http from "http";
import crypto from "crypto";
import { AddressInfo } from "net";
import {
  ConnectionPoster,
  createConnectionPoster,
  PostPolicy,
} from "../handlers/lib/connection-poster";
import { poolPoster } from "../handlers/lib/pool-poster";
import * as sigv4 from "../handlers/lib/sigv4";

interface Answer {
  /** `"hang"`: read the request, never answer. */
  status: number | "hang";
  errorType?: string;
  body?: string;
}

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client's port: one per TCP connection. */
  remotePort?: number;
}

/** A real HTTP server on a free port that answers each POST from a script, like the @connections API. */
class ScriptedApi {
  readonly received: Received[] = [];
  private script: Answer[] = [{ status: 200 }];

  private constructor(private readonly server: http.Server) {
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        this.received.push({
          path: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          remotePort: req.socket.remotePort,
        });
        const answer = this.script.length > 1 ? this.script.shift()! : this.script[0];
        if (answer.status === "hang") return;
        const headers: http.OutgoingHttpHeaders = {
          "content-type": "application/json",
          "x-amzn-RequestId": "req-1",
        };
        if (answer.errorType) headers["x-amzn-ErrorType"] = answer.errorType;
        res
          .writeHead(answer.status, headers)
          .end(answer.body ?? (answer.status === 200 ? "" : '{"message":"scripted"}'));
      });
    });
  }

  static async start(): Promise<ScriptedApi> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new ScriptedApi(server);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/dev`;
  }

  answer(...answers: Answer[]): void {
    this.script = answers;
    this.received.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const ID = "R1kmxc2VNjMCFIA=";
const DATA = Buffer.from("hello world");
// Retries without waiting long: the tests check which errors are retried, not the timing.
const FAST_RETRY: PostPolicy = {
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 2,
  requestTimeoutMs: 2_000,
  minAttemptMs: 1,
};
const GONE: Answer = { status: 410, errorType: "GoneException" };
const THROTTLED: Answer = { status: 429, errorType: "LimitExceededException" };

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Error, `not an Error: ${String(err)}`);
    return err;
  }
  assert.fail("expected the post to fail");
}

// The two transports: node:https for the functions that post a reply, undici's pool for the
// broadcast. Every guarantee below holds for both.
const TRANSPORTS: [
  string,
  (endpoint: string, sockets: number, policy: PostPolicy) => ConnectionPoster,
][] = [
  ["node:https", createConnectionPoster],
  ["undici's pool", poolPoster],
];

for (const [transport, makePoster] of TRANSPORTS)
  describe(`@connections poster on ${transport} (signed keep-alive posts)`, function () {
    let api: ScriptedApi;
    const savedEnv = { ...process.env };

    before(async function () {
      api = await ScriptedApi.start();
    });
    after(async function () {
      await api.stop();
    });
    beforeEach(function () {
      Object.assign(process.env, {
        AWS_REGION: "ap-northeast-1",
        AWS_ACCESS_KEY_ID: "AKIDPOSTERTEST",
        AWS_SECRET_ACCESS_KEY: "secret",
        AWS_SESSION_TOKEN: "session-token-from-lambda",
      });
    });
    afterEach(function () {
      for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
      Object.assign(process.env, savedEnv);
    });

    it("posts the raw data to /{stage}/@connections/{id} with the id URL-encoded", async function () {
      api.answer({ status: 200 });
      await makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA);
      assert.equal(api.received.length, 1);
      assert.equal(api.received[0].path, "/dev/@connections/R1kmxc2VNjMCFIA%3D");
      assert.equal(api.received[0].body, "hello world");
    });

    it("signs with SigV4 for execute-api in AWS_REGION, with the Lambda's session token, as the SDK client does", async function () {
      api.answer({ status: 200 });
      await makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA);
      await new ApiGatewayManagementApiClient({ endpoint: api.endpoint }).send(
        new PostToConnectionCommand({ ConnectionId: ID, Data: DATA }),
      );
      const [ours, sdk] = api.received;
      assert.equal(ours.path, sdk.path);
      assert.equal(ours.headers["x-amz-security-token"], "session-token-from-lambda");
      const scope = (headers: http.IncomingHttpHeaders) =>
        /^AWS4-HMAC-SHA256 Credential=AKIDPOSTERTEST\/\d{8}\/ap-northeast-1\/execute-api\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
          String(headers.authorization),
        )?.[1];
      assert.ok(scope(ours.headers), `unexpected authorization: ${ours.headers.authorization}`);
      // The same signed headers as the SDK's, but for its telemetry (invocation id, retry count, user agent).
      const telemetry = new Set(["amz-sdk-invocation-id", "amz-sdk-request", "x-amz-user-agent"]);
      const sdkSigned = scope(sdk.headers)!
        .split(";")
        .filter((name) => !telemetry.has(name));
      assert.deepEqual(scope(ours.headers)!.split(";"), sdkSigned);
      assert.equal(ours.headers["x-amz-content-sha256"], sdk.headers["x-amz-content-sha256"]);
    });

    it("throws the SDK's GoneException for a 410 with x-amzn-ErrorType: GoneException, without retrying", async function () {
      api.answer(GONE);
      const err = await rejection(makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA));
      assert.ok(err instanceof GoneException);
      assert.equal(err.name, "GoneException");
      assert.equal(err.$metadata.httpStatusCode, 410);
      assert.equal(err.$metadata.requestId, "req-1");
      assert.equal(api.received.length, 1);
    });

    it("does not take a bare 410 without x-amzn-ErrorType for GoneException (as the SDK does not)", async function () {
      api.answer({ status: 410, body: "" });
      const err = await rejection(makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA));
      assert.equal(err.name, "Unknown");
    });

    it("reads the error name from a JSON body's __type when the header is missing", async function () {
      api.answer({
        status: 413,
        body: JSON.stringify({
          __type: "com.amazonaws#PayloadTooLargeException",
          message: "too big",
        }),
      });
      const err = await rejection(makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA));
      assert.ok(err instanceof PayloadTooLargeException);
      assert.equal(err.message, "too big");
    });

    it("names an error after any x-amzn-ErrorType, even an Object.prototype member, and still throws an Error", async function () {
      for (const errorType of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
        api.answer({ status: 400, errorType });
        const err = await rejection(makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA));
        assert.equal(err.name, errorType);
        assert.equal((err as GoneException).$metadata.httpStatusCode, 400);
      }
    });

    it("retries a throttled post (429 LimitExceededException) and succeeds", async function () {
      api.answer(THROTTLED, THROTTLED, { status: 200 });
      await makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA);
      assert.equal(api.received.length, 3);
    });

    it("gives up on a post still throttled after the last attempt, with LimitExceededException", async function () {
      api.answer(THROTTLED);
      const err = await rejection(makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA));
      assert.ok(err instanceof LimitExceededException);
      assert.equal(err.$metadata.attempts, 3);
      assert.equal(api.received.length, 3);
    });

    it("makes no retry that could not finish before the deadline (the invocation's)", async function () {
      api.answer(THROTTLED, { status: 200 });
      const policy = { ...FAST_RETRY, minAttemptMs: 1_000 };
      const err = await rejection(
        makePoster(api.endpoint, 4, policy).post(ID, DATA, Date.now() + 500),
      );
      assert.equal(err.name, "LimitExceededException");
      assert.equal(api.received.length, 1);
    });

    it("sends nothing once the deadline has passed, and says so (DeadlineExceeded)", async function () {
      api.answer({ status: 200 });
      const err = await rejection(
        makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA, Date.now() - 1),
      );
      assert.equal(err.name, "DeadlineExceeded");
      assert.equal(api.received.length, 0);
    });

    it("gives up on an unanswered post at the deadline when it comes before the request timeout", async function () {
      api.answer({ status: "hang" });
      const policy = { ...FAST_RETRY, requestTimeoutMs: 20_000 };
      const started = Date.now();
      const err = await rejection(
        makePoster(api.endpoint, 4, policy).post(ID, DATA, started + 300),
      );
      const waited = Date.now() - started;
      assert.equal(err.name, "TimeoutError");
      assert.ok(waited >= 250 && waited < 5_000, `gave up after ${waited} ms`);
    });

    it("never sends again a post that left and got no answer: it may have been delivered", async function () {
      api.answer({ status: "hang" }, { status: 200 });
      const policy = { ...FAST_RETRY, requestTimeoutMs: 100 };
      const err = await rejection(makePoster(api.endpoint, 4, policy).post(ID, DATA));
      assert.equal(err.name, "TimeoutError");
      assert.equal((err as GoneException).$metadata.attempts, 1);
      assert.equal(api.received.length, 1);
    });

    it("retries a post that never left (connection refused) as the SDK would", async function () {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const err = await rejection(
        makePoster(`http://127.0.0.1:${port}/dev`, 4, FAST_RETRY).post(ID, DATA),
      );
      assert.equal((err as NodeJS.ErrnoException).code, "ECONNREFUSED");
      assert.equal((err as GoneException).$metadata.attempts, 3);
    });

    it("retries a server fault (503) as the SDK would, and succeeds", async function () {
      api.answer({ status: 503, errorType: "ServiceUnavailableException" }, { status: 200 });
      await makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA);
      assert.equal(api.received.length, 2);
    });

    it("gives up on a persistent server fault (500) with its type name and HTTP status", async function () {
      api.answer({ status: 500, errorType: "InternalServerErrorException" });
      const err = await rejection(makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA));
      assert.equal(err.name, "InternalServerErrorException");
      assert.equal((err as GoneException).$metadata.httpStatusCode, 500);
      assert.equal(api.received.length, 3);
    });

    it("throws a client error (403 Forbidden) at once, without retrying", async function () {
      api.answer({ status: 403, errorType: "ForbiddenException" });
      const err = await rejection(makePoster(api.endpoint, 4, FAST_RETRY).post(ID, DATA));
      assert.ok(err instanceof ForbiddenException);
      assert.equal(api.received.length, 1);
    });

    it("hashes each body once however many of its posts start at once, and derives the key once", async function () {
      // Spies on what the compiled module looks up at each call: the signer class it constructs
      // and crypto's createSecretKey.
      const Signer = sigv4.ConnectionPostSigner;
      const createSecretKey = crypto.createSecretKey;
      let signers = 0;
      let keys = 0;
      Object.assign(sigv4, {
        ConnectionPostSigner: class extends Signer {
          constructor(...args: ConstructorParameters<typeof Signer>) {
            super(...args);
            signers++;
          }
        },
      });
      Object.assign(crypto, {
        createSecretKey: (...args: Parameters<typeof createSecretKey>) => {
          keys++;
          return createSecretKey(...args);
        },
      });
      try {
        // A secret of its own: no key derived by another test is cached for it.
        process.env.AWS_SECRET_ACCESS_KEY = `secret-${Math.random()}`;
        api.answer({ status: 200 });
        const poster = makePoster(api.endpoint, 16, FAST_RETRY);
        const first = Buffer.from("first message");
        const second = Buffer.from("second message");
        await Promise.all(Array.from({ length: 16 }, (_, i) => poster.post(`first${i}`, first)));
        await Promise.all(Array.from({ length: 16 }, (_, i) => poster.post(`second${i}`, second)));
        assert.equal(api.received.length, 32);
        assert.equal(signers, 2, "one signer per body");
        assert.equal(keys, 1, "one signing key for the day");
      } finally {
        Object.assign(sigv4, { ConnectionPostSigner: Signer });
        Object.assign(crypto, { createSecretKey });
      }
    });

    it("keeps sockets alive between posts and opens at most maxSockets at once", async function () {
      api.answer({ status: 200 });
      const poster = makePoster(api.endpoint, 3, FAST_RETRY);
      for (let i = 0; i < 5; i++) await poster.post(`one-after-another${i}`, DATA);
      assert.equal(new Set(api.received.map((r) => r.remotePort)).size, 1);
      api.answer({ status: 200 });
      await Promise.all(Array.from({ length: 30 }, (_, i) => poster.post(`at-once${i}`, DATA)));
      assert.equal(api.received.length, 30);
      const connections = new Set(api.received.map((r) => r.remotePort));
      assert.ok(connections.size <= 3, `${connections.size} connections`);
    });
  });
