import { EventEmitter } from "events";
import * as http from "http";
import * as https from "https";
import { AddressInfo, Socket } from "net";
import { Duplex } from "stream";
import { WebSocket, WebSocketServer } from "ws";
import {
  authorize,
  authorizerEvent,
  AuthorizerInvoker,
  connectMethodArn,
  LOCAL_ACCOUNT_ID,
} from "./authorizer";
import { ConnectionsBackend, connectionsApi } from "./connections-api";
import {
  IDLE_TIMEOUT_MS,
  INTEGRATION_TIMEOUT_MS,
  MAX_CONNECTION_MS,
  MAX_MESSAGE_BYTES,
  MAX_URL_LENGTH,
} from "../handlers/lib/limits";
import { FrameLimits } from "./frame-limits";
import {
  ConnectionContext,
  WebSocketEvent,
  connectEvent,
  disconnectEvent,
  messageEvent,
  newId,
} from "./gateway-events";
import { describeError } from "../handlers/lib/log";
import { handshakeProblem } from "./handshake";
import { routeSelector } from "./route-selection";

/** Runs one route's integration: resolves with the Lambda's result, rejects when it throws. */
export type RouteInvoker = (event: WebSocketEvent) => Promise<unknown>;

export interface LocalGatewayOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  stage: string;
  /** `$request.body.<path>`. */
  routeSelectionExpression: string;
  /** Route key to integration. `$connect`, `$disconnect` and `$default` are all optional. */
  routes: Record<string, RouteInvoker>;
  /** API Gateway: 10 minutes. */
  idleTimeoutMs?: number;
  /** API Gateway: 2 hours. */
  maxConnectionMs?: number;
  /** How long an integration may take before the client is told it timed out. API Gateway: 29 s. */
  integrationTimeoutMs?: number;
  /** Delay added to every @connections call, to model a network round trip. Default 0. */
  managementLatencyMs?: number;
  /**
   * How long the @connections API keeps an idle keep-alive connection open. API Gateway's is
   * not documented. @default Node's (5 s)
   */
  managementKeepAliveMs?: number;
  /**
   * The Lambda REQUEST authorizer on `$connect`, run as API Gateway runs one (local/authorizer.ts).
   * @default none: every upgrade goes on to `$connect`
   */
  authorizer?: AuthorizerInvoker;
  /** The Region in the ARNs the authorizer sees. @default "us-east-1" */
  region?: string;
  /**
   * One line per connect, message, disconnect and refusal, each a JSON object with its `event`:
   * `{"event":"message","connectionId":"...","routeKey":"sendmessage","bytes":42}`. Never a
   * body, URL or header value (they may carry tokens). Never called on the @connections path.
   */
  log?: (line: string) => void;
  /**
   * Serve TLS with this key and certificate (PEM), as API Gateway does: the URL is then
   * `wss://` and the @connections API `https://`, on the same port. Default: plain ws/http.
   */
  tls?: { key: string; cert: string };
}

/**
 * Close codes the gateway sends. What AWS sends on idle timeout and at the 2-hour limit is not
 * documented: 1001 "Going away" is a guess (serverless-offline uses it too). A @connections
 * DELETE shows in AWS logs as 1000 "Connection Closed Normally".
 */
const CLOSE = {
  timeout: { code: 1001, reason: "Going away" },
  deleted: { code: 1000, reason: "Connection Closed Normally" },
  shutdown: { code: 1001, reason: "Going away" },
  tooBig: { code: 1009, reason: "Message too big" },
  binary: { code: 1003, reason: "Binary frames are not supported" },
} as const;

// A client that never answers our close frame is cut off after this long.
const CLOSE_GRACE_MS = 1000;

// Unsent bytes to one client beyond which it counts as not reading: its pings go unanswered and
// @connections answers 429 for it, instead of buffering for it without bound. (API Gateway
// documents the 429, not its threshold: this is a local choice, eight 128 KB messages.)
const CLIENT_BACKLOG_BYTES = 1024 * 1024;

interface Connection {
  context: ConnectionContext;
  state: "connecting" | "open" | "closed";
  socket?: WebSocket;
  lastActiveAt: number;
  idleTimer?: NodeJS.Timeout;
  maxTimer?: NodeJS.Timeout;
  /** Set when the gateway closed the connection: what `$disconnect` reports. */
  closedBy?: { code: number; reason: string };
  /** Settles once the socket is closed and `$disconnect` has run. */
  finished?: Promise<void>;
}

/**
 * An API Gateway WebSocket API on one local port: WebSocket upgrades at `/<stage>` and the
 * @connections management API at `/<stage>/@connections/{id}`, routing messages to
 * integrations as API Gateway does. Built to stay fast with many thousands of connections:
 * nothing on the @connections path costs more than one map lookup.
 *
 * Events: `"connect"` (connectionId) once a connection is open; `"disconnect"` (connectionId,
 * code) once its socket is closed and `$disconnect` has run.
 */
export class LocalGateway extends EventEmitter {
  /** `ws://host:port/stage` (`wss://` with TLS). */
  readonly url: string;
  /** `http://host:port/stage`: the base of the @connections API, as MANAGEMENT_ENDPOINT. */
  readonly managementEndpoint: string;
  readonly port: number;
  readonly apiId = randomApiId();
  /** The ARN an authorizer's policy must allow: this API's stage's `$connect`. */
  readonly connectMethodArn: string;

  private readonly routes: ReadonlyMap<string, RouteInvoker>;
  private readonly connections = new Map<string, Connection>();
  private readonly pendingConnects = new Set<Promise<void>>();
  private readonly pendingDisconnects = new Set<Promise<void>>();
  private readonly wss: WebSocketServer;
  private readonly selectRoute: (body: string) => string | undefined;
  private readonly idleTimeoutMs: number;
  private readonly maxConnectionMs: number;
  private readonly integrationTimeoutMs: number;
  private readonly logLine: (line: string) => void;
  private connectionCount = 0;
  private closing = false;
  private closed?: Promise<void>;

  private constructor(
    private readonly server: http.Server,
    private readonly options: LocalGatewayOptions,
  ) {
    super();
    const host = options.host ?? "127.0.0.1";
    this.port = (server.address() as AddressInfo).port;
    const reachableHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    const secure = options.tls ? "s" : "";
    this.url = `ws${secure}://${reachableHost}:${this.port}/${options.stage}`;
    this.managementEndpoint = `http${secure}://${reachableHost}:${this.port}/${options.stage}`;
    this.routes = new Map(Object.entries(options.routes));
    this.selectRoute = routeSelector(options.routeSelectionExpression);
    this.connectMethodArn = connectMethodArn(
      options.region ?? "us-east-1",
      LOCAL_ACCOUNT_ID,
      this.apiId,
      options.stage,
    );
    this.idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.maxConnectionMs = options.maxConnectionMs ?? MAX_CONNECTION_MS;
    this.integrationTimeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
    this.logLine = options.log ?? (() => {});
    this.wss = new WebSocketServer({
      noServer: true,
      // API Gateway does not negotiate compression; the frame limits apply to raw frames.
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      // Any message within API Gateway's 128 KB, even in one-byte fragments, gets through.
      maxFragments: MAX_MESSAGE_BYTES,
      // Pings are answered below: ws's own answer cuts a client off after 60 pending pongs.
      autoPong: false,
      handleProtocols: (offered, request) => {
        const chosen = chosenProtocols.get(request);
        return chosen !== undefined && offered.has(chosen) ? chosen : false;
      },
    });
    server.on("upgrade", (request: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(request, socket, head),
    );
    server.on(
      "request",
      connectionsApi({
        stage: options.stage,
        latencyMs: options.managementLatencyMs ?? 0,
        backend: this.backend(),
      }),
    );
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.unreadableRequest(err, socket),
    );
  }

  static async start(options: LocalGatewayOptions): Promise<LocalGateway> {
    routeSelector(options.routeSelectionExpression); // fail before listening on a bad expression
    const server = options.tls ? https.createServer(options.tls) : http.createServer();
    if (options.managementKeepAliveMs !== undefined) {
      server.keepAliveTimeout = options.managementKeepAliveMs;
    }
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return new LocalGateway(server, options);
  }

  /** Connections whose upgrade is still under way: `$connect` is running or the handshake is. */
  get connecting(): number {
    let count = 0;
    for (const connection of this.connections.values())
      if (connection.state === "connecting") count++;
    return count;
  }

  /**
   * Resolves once no upgrade and no `$disconnect` is in flight: every connection is then open
   * or gone, and the table holds what its integrations made of them.
   */
  async settled(): Promise<void> {
    while (this.pendingConnects.size > 0 || this.pendingDisconnects.size > 0) {
      await Promise.all([...this.pendingConnects, ...this.pendingDisconnects]);
    }
  }

  /** Ids of the open connections. */
  connectionIds(): string[] {
    const ids: string[] = [];
    for (const [id, connection] of this.connections) if (connection.state === "open") ids.push(id);
    return ids;
  }

  /** Writes `data` as a text frame straight to one client's socket; false when it is not open. */
  sendDirect(connectionId: string, data: string | Buffer): boolean {
    const connection = this.connections.get(connectionId);
    if (connection?.state !== "open") return false;
    this.deliver(connection, data);
    return true;
  }

  /** Writes `data` to every open socket, bypassing @connections: the ceiling for a broadcast. */
  sendToAll(data: string | Buffer): number {
    let sent = 0;
    for (const connection of this.connections.values()) {
      if (connection.state === "open") {
        this.deliver(connection, data);
        sent++;
      }
    }
    return sent;
  }

  /** Closes every connection (running `$disconnect` for each), then the server. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.pendingConnects]);
    const open = [...this.connections.values()];
    for (const connection of open) this.closeConnection(connection, CLOSE.shutdown);
    await Promise.all(open.map((connection) => connection.finished ?? Promise.resolve()));
    await Promise.all([...this.pendingDisconnects]);
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      this.server.close((err) => (err ? reject(err) : resolve())),
    );
  }

  // ---- WebSocket side -----------------------------------------------------------------------

  private upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = request.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const query = queryAt < 0 ? "" : url.slice(queryAt + 1);
    // Refusals name their reason, never the URL or a header value: those may carry tokens.
    if (`wss://${request.headers.host ?? ""}${url}`.length > MAX_URL_LENGTH) {
      // API Gateway's quota; the status it answers is a guess.
      return this.refuseUpgrade(socket, 414, `URL over ${MAX_URL_LENGTH} characters`);
    }
    if (path !== `/${this.options.stage}` && path !== `/${this.options.stage}/`) {
      return this.refuseUpgrade(socket, 403, "not this API's stage path");
    }
    if (this.closing) return this.refuseUpgrade(socket, 503, "the gateway is shutting down");
    const problem = handshakeProblem(request);
    if (problem) return this.refuseUpgrade(socket, problem.status, problem.reason);
    socket.on("error", () => {}); // a client that gives up mid-handshake is not our error

    const pending = this.connect(request, socket, head, query).catch((err: unknown) => {
      // A fault of this gateway, never the client's: the client gets 500 and the process lives.
      this.log("connect_failed", describeError(err));
      if (!socket.destroyed) rejectUpgrade(socket, 500, "Internal Server Error");
    });
    this.pendingConnects.add(pending);
    void pending.finally(() => this.pendingConnects.delete(pending));
  }

  /** One JSON object per line: the event, then what it is about. */
  private log(event: string, fields: Record<string, unknown> = {}): void {
    this.logLine(JSON.stringify({ event, ...fields }));
  }

  /**
   * A request Node could not read (a head over 16 KB, bytes that are not HTTP, a client that left
   * mid-head): answered as Node would, and logged, since it never reaches `upgrade`.
   */
  private unreadableRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === "ECONNRESET" || err.code === "HPE_INVALID_EOF_STATE" || !socket.writable) {
      this.log("request_abandoned", { reason: "before its head was complete" });
      return void socket.destroy();
    }
    const status =
      err.code === "HPE_HEADER_OVERFLOW"
        ? 431
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? 408
          : 400;
    this.log("request_refused", { status, reason: `unreadable (${err.code ?? err.message})` });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
  }

  private refuseUpgrade(socket: Duplex, status: number, reason: string): void {
    this.log("connect_refused", { status, reason });
    rejectUpgrade(socket, status, http.STATUS_CODES[status] ?? "Error");
  }

  private async connect(
    request: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    query: string,
  ): Promise<void> {
    const now = Date.now();
    const context: ConnectionContext = {
      // Every other id carries a "/" and a "+": code that forgets to encode ids breaks locally too.
      connectionId: newId(this.connectionCount++ % 2 === 1),
      connectedAt: now,
      apiId: this.apiId,
      stage: this.options.stage,
      domainName: (request.headers.host ?? "localhost").replace(/:\d+$/, ""),
      sourceIp: ((socket as Socket).remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
      userAgent: request.headers["user-agent"],
      host: request.headers.host ?? "",
    };
    const connection: Connection = { context, state: "connecting", lastActiveAt: now };
    const id = context.connectionId;
    this.connections.set(id, connection);

    let status: { code: number; protocol?: string };
    try {
      status = await this.runConnect(connection, request, query);
    } catch (err) {
      this.connections.delete(id);
      throw err;
    }
    if (!isSuccess(status.code)) {
      this.connections.delete(id);
      this.log("connect_refused", {
        connectionId: id,
        status: status.code,
        reason: "$connect answered it",
      });
      return rejectUpgrade(socket, status.code, http.STATUS_CODES[status.code] ?? "Error");
    }
    // From here $connect has succeeded: every way out that is not "open" owes a $disconnect.
    if (socket.destroyed || !socket.readable || !socket.writable) {
      return this.abandon(connection, socket, "the client left while $connect ran");
    }
    // ws may still refuse, or find the socket gone; either way the socket closes unopened.
    const unopened = () => this.abandon(connection, socket, "the handshake did not complete");
    socket.once("close", unopened);
    try {
      if (status.protocol !== undefined) chosenProtocols.set(request, status.protocol);
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        socket.off("close", unopened);
        this.open(connection, ws, socket);
      });
    } catch (err) {
      socket.off("close", unopened);
      this.abandon(connection, socket, `the handshake failed: ${errorText(err)}`);
    }
  }

  /** A connection whose $connect succeeded but that never opened: forget it, run $disconnect. */
  private abandon(connection: Connection, socket: Duplex, reason: string): void {
    // Nobody reads an upgrade's socket until it opens: destroy it, or it lingers half-open.
    socket.destroy();
    if (connection.state !== "connecting") return;
    connection.state = "closed";
    const { connectionId } = connection.context;
    this.connections.delete(connectionId);
    this.log("disconnect", { connectionId, code: 1006, reason });
    void this.runDisconnect(connection, 1006, "");
  }

  /** Runs `$connect` and turns its result into the handshake's HTTP status. */
  private async runConnect(
    connection: Connection,
    request: http.IncomingMessage,
    query: string,
  ): Promise<{ code: number; protocol?: string }> {
    const invoke = this.routes.get("$connect");
    if (!invoke) return { code: 200 };
    const event = connectEvent(connection.context, {
      rawHeaders: request.rawHeaders,
      query,
      localPort: this.port,
      secure: this.options.tls !== undefined,
    });
    if (this.options.authorizer) {
      const decision = await authorize(
        this.options.authorizer,
        authorizerEvent(event, this.connectMethodArn),
      );
      if (decision.status !== 200) return { code: decision.status };
      // From here on, every event of this connection carries what the authorizer said.
      connection.context.authorizer = decision.authorizer;
      event.requestContext.authorizer = decision.authorizer;
    }
    try {
      return lambdaStatus(await this.integrate(invoke, event));
    } catch (err) {
      // As API Gateway reports it: a timeout is 504, a throttled Lambda 500 ("limit exceeded"),
      // any other failure of the integration 502.
      if (err instanceof IntegrationTimeout) return { code: 504 };
      return { code: isThrottled(err) ? 500 : 502 };
    }
  }

  private open(connection: Connection, ws: WebSocket, socket: Duplex): void {
    connection.state = "open";
    connection.socket = ws;
    const { connectionId } = connection.context;
    this.log("connect", { connectionId });
    this.emit("connect", connectionId);

    const limits = new FrameLimits(() => this.closeConnection(connection, CLOSE.tooBig));
    const watch = (chunk: Buffer) => limits.push(chunk);
    // Ahead of ws's own listener, so an oversized frame is caught from its header.
    socket.prependListener("data", watch);

    connection.idleTimer = setTimeout(
      () => this.closeConnection(connection, CLOSE.timeout),
      this.idleTimeoutMs,
    );
    connection.maxTimer = setTimeout(
      () => this.closeConnection(connection, CLOSE.timeout),
      this.maxConnectionMs,
    );

    ws.on("message", (data: Buffer, isBinary) => {
      if (connection.closedBy) return;
      if (isBinary) return this.closeConnection(connection, CLOSE.binary);
      connection.lastActiveAt = Date.now();
      connection.idleTimer?.refresh();
      try {
        this.route(connection, data.toString("utf8"));
      } catch (err) {
        // A fault of this gateway must cost one error frame, never the process.
        this.log("message_failed", { connectionId, ...describeError(err) });
        if (connection.state === "open")
          this.deliver(connection, errorFrame("Internal server error", connectionId, newId()));
      }
    });
    ws.on("ping", (data: Buffer) => {
      // API Gateway answers pings (they do not count as activity) and documents no limit on
      // them: answer every one, unless the client has stopped reading what we send. Then the
      // pongs are dropped (RFC 6455 5.5.3 lets a pong answer only the latest ping) rather than
      // buffered without bound.
      if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount <= CLIENT_BACKLOG_BYTES)
        ws.pong(data);
    });
    ws.on("error", (err: Error & { code?: string }) => {
      // ws closes the socket itself; remember why, for $disconnect.
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") connection.closedBy ??= CLOSE.tooBig;
      // ws sent a close frame for a protocol error: a client that never answers it is cut off
      // as soon as one that ignores ours (ws itself would wait 30 s).
      const cutOff = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once("close", () => clearTimeout(cutOff));
    });
    let finish!: () => void;
    connection.finished = new Promise((resolve) => (finish = resolve));
    ws.on("close", (code, reason) => {
      socket.off("data", watch);
      clearTimeout(connection.idleTimer);
      clearTimeout(connection.maxTimer);
      connection.state = "closed";
      this.connections.delete(connectionId);
      const cause = connection.closedBy ?? { code, reason: reason.toString() };
      this.log("disconnect", { connectionId, code: cause.code });
      void this.runDisconnect(connection, cause.code, cause.reason).then(() => {
        finish();
        this.emit("disconnect", connectionId, cause.code);
      });
    });
  }

  private route(connection: Connection, body: string): void {
    const { connectionId } = connection.context;
    const requestId = newId();
    const selected = this.selectRoute(body);
    // $connect and $disconnect are never selected by a message.
    const routeKey =
      selected !== undefined &&
      selected !== "$connect" &&
      selected !== "$disconnect" &&
      this.routes.has(selected)
        ? selected
        : this.routes.has("$default")
          ? "$default"
          : undefined;
    this.log("message", {
      connectionId,
      routeKey: routeKey ?? null,
      bytes: Buffer.byteLength(body),
    });
    if (routeKey === undefined) {
      return this.deliver(connection, errorFrame("Forbidden", connectionId, requestId));
    }
    // One-way routes: a result never reaches the client, a failure does.
    const event = messageEvent(connection.context, routeKey, body, requestId);
    this.integrate(this.routes.get(routeKey)!, event).catch((err: unknown) => {
      const message =
        err instanceof IntegrationTimeout ? "Endpoint request timed out" : "Internal server error";
      if (connection.state === "open" && !connection.closedBy)
        this.deliver(connection, errorFrame(message, connectionId, requestId));
    });
  }

  /**
   * Runs an integration as API Gateway does: it stops waiting after the integration timeout
   * (the function itself runs on until its own timeout stops it).
   */
  private async integrate(invoke: RouteInvoker, event: WebSocketEvent): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IntegrationTimeout()), this.integrationTimeoutMs);
    });
    try {
      // Through then(): an invoker that throws instead of rejecting fails the same way.
      return await Promise.race([Promise.resolve().then(() => invoke(event)), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private runDisconnect(connection: Connection, code: number, reason: string): Promise<void> {
    const invoke = this.routes.get("$disconnect");
    if (!invoke) return Promise.resolve();
    const pending = this.integrate(invoke, disconnectEvent(connection.context, code, reason)).then(
      () => {},
      () => {}, // best-effort, as on AWS
    );
    this.pendingDisconnects.add(pending);
    void pending.finally(() => this.pendingDisconnects.delete(pending));
    return pending;
  }

  private deliver(connection: Connection, data: string | Buffer): void {
    connection.idleTimer?.refresh(); // idleness counts traffic in either direction
    connection.socket!.send(data, { binary: false });
  }

  private closeConnection(connection: Connection, cause: { code: number; reason: string }): void {
    if (connection.state !== "open" || connection.closedBy) return;
    connection.closedBy = cause;
    const ws = connection.socket!;
    ws.close(cause.code, cause.reason);
    const cutOff = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once("close", () => clearTimeout(cutOff));
  }

  // ---- What the @connections API sees ----------------------------------------------------------

  /** An open connection that nothing is closing yet; anything else is gone to @connections. */
  private live(connectionId: string): Connection | undefined {
    const connection = this.connections.get(connectionId);
    return connection?.state === "open" && !connection.closedBy ? connection : undefined;
  }

  private backend(): ConnectionsBackend {
    return {
      post: (connectionId, data) => {
        const connection = this.live(connectionId);
        if (!connection) return "gone";
        if (connection.socket!.bufferedAmount > CLIENT_BACKLOG_BYTES) return "full";
        this.deliver(connection, data);
        return "sent";
      },
      describe: (connectionId) => {
        const connection = this.live(connectionId);
        if (!connection) return undefined;
        const { connectedAt, sourceIp, userAgent } = connection.context;
        return { connectedAt, lastActiveAt: connection.lastActiveAt, sourceIp, userAgent };
      },
      remove: (connectionId) => {
        const connection = this.live(connectionId);
        if (connection) this.closeConnection(connection, CLOSE.deleted);
        return connection !== undefined;
      },
    };
  }
}

class IntegrationTimeout extends Error {
  constructor() {
    super("Endpoint request timed out");
    this.name = "IntegrationTimeout";
  }
}

// The subprotocol $connect chose, per upgrade request, for the handshake's response.
const chosenProtocols = new WeakMap<http.IncomingMessage, string>();

function isSuccess(code: number): boolean {
  return code >= 200 && code < 300;
}

/**
 * A Lambda proxy result as API Gateway reads it on `$connect`: a numeric `statusCode` decides;
 * anything without one is a malformed response (502). A `Sec-WebSocket-Protocol` header picks
 * the subprotocol.
 */
function lambdaStatus(result: unknown): { code: number; protocol?: string } {
  if (typeof result !== "object" || result === null) return { code: 502 };
  const { statusCode, headers } = result as {
    statusCode?: unknown;
    headers?: Record<string, unknown>;
  };
  const code =
    typeof statusCode === "string" && /^\d+$/.test(statusCode) ? Number(statusCode) : statusCode;
  if (typeof code !== "number" || !Number.isInteger(code) || code < 100 || code > 599)
    return { code: 502 };
  const protocolHeader = Object.entries(headers ?? {}).find(
    ([name]) => name.toLowerCase() === "sec-websocket-protocol",
  );
  return typeof protocolHeader?.[1] === "string" ? { code, protocol: protocolHeader[1] } : { code };
}

function rejectUpgrade(socket: Duplex, code: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? "Error"}\r\n` +
      "Connection: close\r\nContent-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** API Gateway's error frame; the uneven spacing is AWS's own. */
function errorFrame(message: string, connectionId: string, requestId: string): string {
  return `{"message": "${message}", "connectionId":"${connectionId}", "requestId":"${requestId}"}`;
}

function randomApiId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(
    { length: 10 },
    () => alphabet[Math.floor(Math.random() * alphabet.length)],
  ).join("");
}

function isThrottled(err: unknown): boolean {
  return err instanceof Error && err.name === "TooManyRequestsException";
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
