import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import { ENV } from "../../handlers/lib/environment";
import { FunctionName } from "../../handlers/routes";
import { forwardTo } from "./dynamo-proxy";

/**
 * Records the AWS calls the handlers make in the tests, for test/permissions.test.ts, which
 * evaluates each against the function's synthesized role policy. When the variable below names
 * a file, `startHandler` puts a recording proxy in front of each endpoint the handler is given
 * (DynamoDB, the @connections API) and every request through it is appended to that file, one
 * JSON line each, as is the first line each started function logs (Lambda then creates a log
 * stream and puts the function's output there). Otherwise nothing is recorded and the
 * handlers talk to the endpoints directly.
 */
export const RECORD_AWS_CALLS = "CHAT_RECORD_AWS_CALLS";

/** One request a handler sent, as it went over the wire. */
export type RecordedCall = {
  function: FunctionName;
  /** The handler's environment: which tables, endpoint and settings it was given. */
  environment: Record<string, string>;
} & (
  | {
      service: "dynamodb";
      /** The operation, from `X-Amz-Target: DynamoDB_20120810.<operation>`. */
      operation: string;
      /** The tables (and index) the request names. */
      targets: { table: string; index?: string }[];
    }
  | {
      service: "execute-api";
      method: string;
      /** The request path, `/{stage}/@connections/{id}` with the id URL-encoded. */
      path: string;
    }
  | {
      /** What Lambda does with the role when the function writes to stdout or stderr. */
      service: "logs";
      operation: "CreateLogStream" | "PutLogEvents";
    }
);

/** Every call recorded in `file`, in the order they were made. */
export function readRecordedCalls(file: string): RecordedCall[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as RecordedCall);
}

/** The tables a DynamoDB request body names: `TableName` (with `IndexName`), `RequestItems`. */
function dynamoTargets(body: Buffer): { table: string; index?: string }[] {
  let request: { TableName?: string; IndexName?: string; RequestItems?: object };
  try {
    request = JSON.parse(body.toString("utf8"));
  } catch {
    return [];
  }
  if (typeof request.TableName === "string")
    return [{ table: request.TableName, index: request.IndexName }];
  return Object.keys(request.RequestItems ?? {}).map((table) => ({ table }));
}

/**
 * An HTTP proxy on a free loopback port that passes every request on to `target` unchanged
 * (method, path, headers, body; the answer, or a dropped connection, comes back the same way)
 * after handing it to `record`.
 */
class RecordingProxy {
  private constructor(
    private readonly server: http.Server,
    private readonly target: URL,
  ) {}

  static async start(
    target: string,
    record: (request: http.IncomingMessage, body: Buffer) => void,
  ): Promise<RecordingProxy> {
    const url = new URL(target);
    if (url.protocol !== "http:")
      throw new Error(`the AWS call recorder proxies only http:// endpoints, not ${target}`);
    const server = http.createServer();
    const proxy = new RecordingProxy(server, url);
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks);
        record(request, body);
        proxy.forward(request, body, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** `endpoint` with this proxy's host and port in place of the target's. */
  endpointFor(endpoint: string): string {
    const url = new URL(endpoint);
    url.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return endpoint.endsWith("/") ? url.href : url.href.replace(/\/$/, "");
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(request: http.IncomingMessage, body: Buffer, response: http.ServerResponse) {
    const forwarded = forwardTo(this.target, request, response);
    // The handler gave up before the target answered: so does the forwarded request.
    response.on("close", () => {
      if (!response.writableFinished) forwarded.destroy();
    });
    forwarded.end(body);
  }
}

/** What a handler is given instead of its endpoints while its calls are recorded. */
export interface RecordingEndpoints {
  environment: Record<string, string>;
  /** `write`, recording that the function's output went to CloudWatch Logs. */
  logTo(write: (line: string) => void): (line: string) => void;
  stop(): Promise<void>;
}

/**
 * Puts a recording proxy in front of the DynamoDB endpoint and the @connections endpoint of
 * `environment` (those it has), appending each request `handler` makes to `file`.
 */
export async function recordAwsCalls(
  file: string,
  handler: FunctionName,
  environment: Record<string, string>,
): Promise<RecordingEndpoints> {
  const append = (call: RecordedCall) => fs.appendFileSync(file, JSON.stringify(call) + "\n");
  const proxies: RecordingProxy[] = [];
  const recorded = { ...environment };

  const dynamoEndpoint = environment.AWS_ENDPOINT_URL_DYNAMODB;
  if (dynamoEndpoint) {
    const proxy = await RecordingProxy.start(dynamoEndpoint, (request, body) => {
      // "DynamoDB_20120810.Query" names the operation.
      const target = String(request.headers["x-amz-target"] ?? "");
      append({
        function: handler,
        environment,
        service: "dynamodb",
        operation: target.split(".")[1] ?? target,
        targets: dynamoTargets(body),
      });
    });
    proxies.push(proxy);
    recorded.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpointFor(dynamoEndpoint);
  }

  const managementEndpoint = environment[ENV.managementEndpoint];
  if (managementEndpoint) {
    const proxy = await RecordingProxy.start(managementEndpoint, (request) => {
      append({
        function: handler,
        environment,
        service: "execute-api",
        method: request.method ?? "",
        path: new URL(request.url ?? "/", "http://localhost").pathname,
      });
    });
    proxies.push(proxy);
    recorded[ENV.managementEndpoint] = proxy.endpointFor(managementEndpoint);
  }

  let logged = false;
  return {
    environment: recorded,
    logTo: (write) => (line) => {
      if (!logged) {
        logged = true;
        for (const operation of ["CreateLogStream", "PutLogEvents"] as const)
          append({ function: handler, environment, service: "logs", operation });
      }
      write(line);
    },
    stop: async () => {
      await Promise.all(proxies.map((proxy) => proxy.stop()));
    },
  };
}
