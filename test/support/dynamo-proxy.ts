import * as http from "http";
import { AddressInfo } from "net";

/** How the proxy treats DynamoDB requests right now. */
export type DynamoFault =
  /** Passes every request on. */
  | { kind: "none" }
  /** Resets every connection: DynamoDB cannot be reached. */
  | { kind: "unreachable" }
  /** Answers these operations (e.g. "Query") as a throttled table does; passes the rest on. */
  | { kind: "throttle"; operations: string[] };

/**
 * An HTTP proxy in front of a local DynamoDB, on a free loopback port, that a test can make
 * unreachable or throttling and then restore, without restarting anything behind it.
 */
export class DynamoProxy {
  fault: DynamoFault = { kind: "none" };
  /** Requests answered with a fault, by operation. */
  readonly faulted = new Map<string, number>();
  private readonly target: URL;

  private constructor(
    private readonly server: http.Server,
    target: string,
  ) {
    this.target = new URL(target);
    server.on("request", (request, response) => this.handle(request, response));
  }

  static async start(target: string): Promise<DynamoProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new DynamoProxy(server, target);
  }

  /** What AWS_ENDPOINT_URL_DYNAMODB should point at. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    // "DynamoDB_20120810.Query" names the operation.
    const operation = String(request.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    const fault = this.fault;
    if (fault.kind === "unreachable") {
      this.count(operation);
      request.socket.destroy();
      return;
    }
    if (fault.kind === "throttle" && fault.operations.includes(operation)) {
      this.count(operation);
      request.resume();
      const body = JSON.stringify({
        __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        message: "The level of configured provisioned throughput for the table was exceeded.",
      });
      response.writeHead(400, { "Content-Type": "application/x-amz-json-1.0" }).end(body);
      return;
    }
    request.pipe(forwardTo(this.target, request, response));
  }

  private count(operation: string): void {
    this.faulted.set(operation, (this.faulted.get(operation) ?? 0) + 1);
  }
}

/**
 * A request to `target` with `request`'s method, path and headers, whose answer goes to
 * `response` as it comes; the caller sends the body. A failed request drops the client's
 * connection, as the target's failure would.
 */
export function forwardTo(
  target: URL,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): http.ClientRequest {
  const forwarded = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: request.method,
      path: request.url,
      headers: request.headers,
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  forwarded.on("error", () => response.destroy());
  return forwarded;
}
