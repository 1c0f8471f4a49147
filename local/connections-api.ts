import * as http from "http";
import { MAX_MESSAGE_BYTES } from "../handlers/lib/limits";
import { CONNECTION_ID_PATTERN } from "./gateway-events";

/**
 * What the @connections API needs from the gateway. Each call answers for an open connection
 * only: unknown, closed, closing and still-connecting ids are all "gone" to the caller.
 */
export interface ConnectionsBackend {
  /**
   * Delivers `data` as a text frame: "sent"; "gone" when the connection is gone; "full" when the
   * client has not read what it was already sent, so that nothing more is taken for it.
   */
  post(connectionId: string, data: Buffer): "sent" | "gone" | "full";
  /** GetConnection's answer, or undefined when the connection is gone. */
  describe(connectionId: string): ConnectionDescription | undefined;
  /** Starts closing the connection (its `$disconnect` follows); false when it is gone. */
  remove(connectionId: string): boolean;
}

export interface ConnectionDescription {
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent?: string;
}

export interface ConnectionsApiOptions {
  /** The API's stage: requests arrive at `/<stage>/@connections/{id}`. */
  stage: string;
  /** Delay added to every call, to model a network round trip. */
  latencyMs: number;
  backend: ConnectionsBackend;
}

/**
 * API Gateway's @connections management API as an HTTP request listener: POST, GET and DELETE
 * on `/<stage>/@connections/{id}`, with the status codes and `x-amzn-ErrorType` headers the
 * AWS SDK turns into typed exceptions. Any signature is accepted. The benchmark pushes
 * thousands of POSTs a second through this: nothing here logs or looks at other connections.
 */
export function connectionsApi(
  options: ConnectionsApiOptions,
): (request: http.IncomingMessage, response: http.ServerResponse) => void {
  const { latencyMs, backend } = options;
  const prefix = `/${options.stage}/@connections/`;
  const afterLatency = (action: () => void) =>
    latencyMs > 0 ? void setTimeout(action, latencyMs) : action();

  function act(
    method: "POST" | "GET" | "DELETE",
    connectionId: string,
    body: Buffer,
    response: http.ServerResponse,
  ): void {
    switch (method) {
      case "POST": {
        const outcome = backend.post(connectionId, body);
        if (outcome === "gone") return gone(response);
        // API Gateway's answer when a client's buffer is full, as to a throttled caller.
        if (outcome === "full") {
          return sendError(response, 429, "LimitExceededException", "Client buffer is full");
        }
        response.writeHead(200, { "Content-Type": "application/json", "Content-Length": 0 });
        return void response.end();
      }
      case "GET": {
        const connection = backend.describe(connectionId);
        if (!connection) return gone(response);
        return sendJson(response, 200, {
          connectedAt: new Date(connection.connectedAt).toISOString(),
          identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent ?? null },
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
        });
      }
      case "DELETE":
        if (!backend.remove(connectionId)) return gone(response);
        response.writeHead(204);
        return void response.end();
    }
  }

  return (request, response) => {
    const url = request.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const encodedId = path.startsWith(prefix) ? path.slice(prefix.length) : "";
    const method = request.method;
    // An id whose "/" was not URL-encoded splits the path: no such resource.
    if (
      encodedId === "" ||
      encodedId.includes("/") ||
      (method !== "POST" && method !== "GET" && method !== "DELETE")
    ) {
      request.resume();
      return sendError(response, 403, "ForbiddenException", "Forbidden");
    }
    let connectionId: string;
    try {
      connectionId = decodeURIComponent(encodedId);
    } catch {
      connectionId = encodedId;
    }
    if (!CONNECTION_ID_PATTERN.test(connectionId)) {
      request.resume();
      return sendError(
        response,
        400,
        "BadRequestException",
        `Invalid connectionId: ${connectionId}`,
      );
    }
    if (method !== "POST") {
      request.resume();
      return afterLatency(() => act(method, connectionId, EMPTY, response));
    }

    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_MESSAGE_BYTES) chunks.push(chunk);
    });
    request.on("end", () => {
      // PostToConnection's Data is limited to 128 KB, like a client's message.
      if (size > MAX_MESSAGE_BYTES)
        return sendError(response, 413, "PayloadTooLargeException", "Request entity too large");
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      afterLatency(() => act(method, connectionId, body, response));
    });
  };
}

const EMPTY = Buffer.alloc(0);

// AWS answers a gone connection with no message (the Java SDK prints "GoneException: null").
function gone(response: http.ServerResponse): void {
  sendError(response, 410, "GoneException", null);
}

function sendError(
  response: http.ServerResponse,
  status: number,
  errorType: string,
  message: string | null,
): void {
  // SDK v3 names the exception from this header; without it a 410 is just "Unknown".
  response.setHeader("x-amzn-ErrorType", errorType);
  sendJson(response, status, { message });
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}
