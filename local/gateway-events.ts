import type {
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayProxyWebsocketEventV2,
} from "aws-lambda";
import { randomBytes } from "crypto";
import type { AuthorizerContext } from "./authorizer";

/**
 * The Lambda proxy events API Gateway sends for WebSocket routes, shaped as the reference
 * records them (../shared/reference/apigw-websocket-facts.md, "Event shapes").
 *
 * The types are the handlers' own (`APIGatewayProxyWebsocketEventV2` from @types/aws-lambda),
 * so the compiler checks every field the handlers can read, plus what that type leaves out.
 * One correction: the type declares `messageId` always, but API Gateway sends it on MESSAGE
 * events only.
 */

export type EventType = APIGatewayEventWebsocketRequestContextV2["eventType"];

export type WebSocketRequestContext = Omit<
  APIGatewayEventWebsocketRequestContextV2,
  "messageId"
> & {
  messageId?: string;
  identity: { sourceIp: string; userAgent?: string };
  disconnectStatusCode?: number;
  disconnectReason?: string;
  /** What the `$connect` authorizer let the connection in with (local/authorizer.ts). */
  authorizer?: AuthorizerContext;
};

export type WebSocketEvent = Omit<APIGatewayProxyWebsocketEventV2, "requestContext"> & {
  requestContext: WebSocketRequestContext;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
};

/** What the gateway knows about a connection from its upgrade request. */
export interface ConnectionContext {
  connectionId: string;
  connectedAt: number;
  apiId: string;
  stage: string;
  domainName: string;
  sourceIp: string;
  userAgent?: string;
  /** Host header as the client sent it; $disconnect events carry it. */
  host: string;
  /** Set by the `$connect` authorizer; every event of the connection carries it, as on AWS. */
  authorizer?: AuthorizerContext;
}

/**
 * A connection id (or request id) in API Gateway's form: 16 characters of base64 ending in
 * `=`, like `R1kmxc2VNjMCFIA=`. 11 random bytes encode to exactly that. `withSlashAndPlus` puts
 * a `/` and a `+` inside, the characters that break code which forgets to URL-encode ids.
 */
export function newId(withSlashAndPlus = false): string {
  const chars = randomBytes(11).toString("base64").split("");
  if (withSlashAndPlus) {
    // Positions 0-13 hold 6 free bits each; position 14 must keep its low bits zero.
    const slash = randomBytes(1)[0] % 14;
    chars[slash] = "/";
    chars[(slash + 1 + (randomBytes(1)[0] % 13)) % 14] = "+";
  }
  return chars.join("");
}

/**
 * A well-formed connection id: anything else on the @connections path is malformed (400).
 * Accepts the base64url characters too: ids seen on AWS include "-" (e.g. `JC1dgf9yoAMCK-g=`).
 */
export const CONNECTION_ID_PATTERN = /^[A-Za-z0-9+/_-]{15}=$/;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `13/Dec/2020:10:17:47 +0000`, in UTC, as `requestContext.requestTime` has it. */
function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

function requestContext(
  connection: ConnectionContext,
  routeKey: string,
  eventType: EventType,
): WebSocketRequestContext {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    messageDirection: "IN",
    connectionId: connection.connectionId,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: now,
    requestTime: formatRequestTime(now),
    requestId: newId(),
    extendedRequestId: newId(),
    apiId: connection.apiId,
    stage: connection.stage,
    domainName: connection.domainName,
    identity:
      connection.userAgent === undefined
        ? { sourceIp: connection.sourceIp }
        : { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
    ...(connection.authorizer ? { authorizer: connection.authorizer } : {}),
  };
}

export interface UpgradeRequest {
  /** Node's `rawHeaders`: names as the client spelled them, alternating with values. */
  rawHeaders: string[];
  /** The query string without `?`, or "" when there is none. */
  query: string;
  /** The gateway's own port, for `X-Forwarded-Port`. */
  localPort: number;
  /** Whether the gateway serves TLS, for `X-Forwarded-Proto`. @default false */
  secure?: boolean;
}

/**
 * The `$connect` event: the client's headers plus the ones API Gateway adds, and query string
 * parameters only when the URL has some.
 */
export function connectEvent(
  connection: ConnectionContext,
  request: UpgradeRequest,
): WebSocketEvent {
  // Names are the client's: kept in Maps, so "__proto__" or "constructor" is just a name.
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    appendValue(headers, request.rawHeaders[i], request.rawHeaders[i + 1]);
  }
  const forwardedFor = headers.get("X-Forwarded-For")?.join(", ");
  headers.set("X-Amzn-Trace-Id", [
    `Root=1-${Math.floor(connection.connectedAt / 1000).toString(16)}-${randomBytes(12).toString("hex")}`,
  ]);
  headers.set("X-Forwarded-For", [
    forwardedFor ? `${forwardedFor}, ${connection.sourceIp}` : connection.sourceIp,
  ]);
  headers.set("X-Forwarded-Port", [String(request.localPort)]);
  // API Gateway terminates TLS and says https; this emulator serves ws:// unless given a
  // certificate.
  headers.set("X-Forwarded-Proto", [request.secure ? "https" : "http"]);

  const event: WebSocketEvent = {
    requestContext: requestContext(connection, "$connect", "CONNECT"),
    headers: lastValues(headers),
    multiValueHeaders: Object.fromEntries(headers),
    isBase64Encoded: false,
  };
  const query = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(request.query)) appendValue(query, name, value);
  if (query.size > 0) {
    event.queryStringParameters = lastValues(query);
    event.multiValueQueryStringParameters = Object.fromEntries(query);
  }
  return event;
}

function appendValue(values: Map<string, string[]>, name: string, value: string): void {
  const existing = values.get(name);
  if (existing) existing.push(value);
  else values.set(name, [value]);
}

/** A MESSAGE event: the body as received, never base64, and no headers. */
export function messageEvent(
  connection: ConnectionContext,
  routeKey: string,
  body: string,
  requestId: string,
): WebSocketEvent {
  const context = requestContext(connection, routeKey, "MESSAGE");
  context.requestId = requestId;
  context.messageId = newId();
  return { requestContext: context, body, isBase64Encoded: false };
}

/** The `$disconnect` event, with the close code and reason and the few headers AWS sends. */
export function disconnectEvent(
  connection: ConnectionContext,
  statusCode: number,
  reason: string,
): WebSocketEvent {
  const context = requestContext(connection, "$disconnect", "DISCONNECT");
  context.disconnectStatusCode = statusCode;
  context.disconnectReason = reason;
  const headers = {
    Host: connection.host,
    "x-api-key": "",
    "X-Forwarded-For": "",
    "x-restapi": "",
  };
  const multiValueHeaders = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, [value]]),
  );
  return { requestContext: context, headers, multiValueHeaders, isBase64Encoded: false };
}

/**
 * The last value of each name, as a plain object like the one Lambda parses from API Gateway's
 * JSON: `Object.fromEntries` defines each name as an own property, `__proto__` included.
 */
function lastValues(multi: ReadonlyMap<string, string[]>): Record<string, string> {
  return Object.fromEntries([...multi].map(([name, values]) => [name, values[values.length - 1]]));
}
