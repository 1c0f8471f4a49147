import { randomUUID } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";

/**
 * Lambda's Runtime API (version 2018-06-01) on a free loopback port, as a function's runtime
 * sees it: `GET /runtime/invocation/next` hands out one queued event at a time (held open until
 * there is one), and the runtime answers each with `POST /runtime/invocation/{id}/response` or
 * `/error`, or reports a failed start with `POST /runtime/init/error`.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */

const PREFIX = "/2018-06-01/runtime";
const FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:websocket-chat-test";

/** What the runtime posted for one invocation. */
export type Outcome =
  { kind: "response"; body: unknown } | { kind: "error"; errorType?: string; body: RuntimeError };

/** The body the runtime posts for a failed invocation or a failed start. */
export interface RuntimeError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

interface Invocation {
  requestId: string;
  event: unknown;
  deadlineMs: number;
  settle(outcome: Outcome): void;
}

export class RuntimeApi {
  private readonly queue: Invocation[] = [];
  private readonly running = new Map<string, Invocation>();
  private waitingRuntime?: http.ServerResponse;
  private initErrorPosted?: (error: { errorType?: string; body: RuntimeError }) => void;
  /** Settles when the runtime reports a failed start. */
  readonly initError: Promise<{ errorType?: string; body: RuntimeError }>;
  /** Every `next` request the runtime made (how many times it asked for work). */
  nextRequests = 0;
  private readonly nextWatchers = new Set<() => void>();

  private constructor(private readonly server: http.Server) {
    this.initError = new Promise((resolve) => (this.initErrorPosted = resolve));
    server.on("request", (req, res) => this.handle(req, res));
  }

  static async start(): Promise<RuntimeApi> {
    const server = http.createServer();
    const api = new RuntimeApi(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return api;
  }

  /** `host:port`, what Lambda puts in AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Queues `event` for the runtime with `timeoutMs` until its deadline, and resolves with what
   * the runtime posts for it. Rejects, naming the request, if nothing is posted before then.
   */
  invoke(event: unknown, timeoutMs = 10_000): Promise<Outcome & { requestId: string }> {
    const requestId = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.running.delete(requestId);
        const index = this.queue.findIndex((queued) => queued.requestId === requestId);
        if (index >= 0) this.queue.splice(index, 1);
        reject(
          new Error(
            `The runtime posted no response or error for request ${requestId} within ${timeoutMs / 1000} s` +
              (index >= 0 ? " (it never asked for it)" : ""),
          ),
        );
      }, timeoutMs);
      this.queue.push({
        requestId,
        event,
        deadlineMs: Date.now() + timeoutMs,
        settle: (outcome) => {
          clearTimeout(timer);
          resolve({ ...outcome, requestId });
        },
      });
      this.dispatch();
    });
  }

  /** Resolves once the runtime has asked for work `times` times in all. */
  asked(times: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.nextRequests < times) return;
        this.nextWatchers.delete(check);
        resolve();
      };
      this.nextWatchers.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dispatch(): void {
    const res = this.waitingRuntime;
    if (!res || this.queue.length === 0) return;
    const invocation = this.queue.shift()!;
    this.waitingRuntime = undefined;
    this.running.set(invocation.requestId, invocation);
    const body = JSON.stringify(invocation.event);
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
      "Lambda-Runtime-Aws-Request-Id": invocation.requestId,
      "Lambda-Runtime-Deadline-Ms": String(invocation.deadlineMs),
      "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
      "Lambda-Runtime-Trace-Id": `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, "").slice(0, 24)};Sampled=0`,
    });
    res.end(body);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "";
      const text = Buffer.concat(chunks).toString();
      if (req.method === "GET" && path === `${PREFIX}/invocation/next`) {
        this.nextRequests++;
        for (const check of [...this.nextWatchers]) check();
        this.waitingRuntime = res;
        return this.dispatch();
      }
      const errorType = headerValue(req.headers["lambda-runtime-function-error-type"]);
      if (req.method === "POST" && path === `${PREFIX}/init/error`) {
        this.initErrorPosted?.({ errorType, body: parseJson(text) as RuntimeError });
        return accepted(res);
      }
      const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
      const invocation = match && this.running.get(decodeURIComponent(match[1]));
      if (req.method !== "POST" || !match || !invocation) {
        res.writeHead(400, { "Content-Type": "application/json" });
        return void res.end(
          JSON.stringify({
            errorType: "InvalidRequestID",
            errorMessage: `No invocation at ${path}`,
          }),
        );
      }
      this.running.delete(invocation.requestId);
      invocation.settle(
        match[2] === "response"
          ? { kind: "response", body: parseJson(text) }
          : { kind: "error", errorType, body: parseJson(text) as RuntimeError },
      );
      accepted(res);
    });
  }
}

function accepted(res: http.ServerResponse): void {
  res.writeHead(202, { "Content-Type": "application/json" });
  res.end('{"status":"OK"}');
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
