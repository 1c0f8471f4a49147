import * as http from "http";

/** Why an upgrade request cannot become a WebSocket, and the HTTP status that says so. */
export interface HandshakeProblem {
  status: number;
  reason: string;
}

const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Everything `ws` checks before it completes a handshake (RFC 6455 4.2.1; ws's
 * `WebSocketServer.handleUpgrade`), with the status ws answers, and the HTTP version. The gateway asks before it runs
 * `$connect`: a handshake ws would refuse afterwards would leave a record with no `$disconnect`.
 * Undefined when ws will accept the handshake.
 */
export function handshakeProblem(request: http.IncomingMessage): HandshakeProblem | undefined {
  const {
    upgrade,
    "sec-websocket-key": key,
    "sec-websocket-version": version,
    "sec-websocket-protocol": protocols,
  } = request.headers;
  if (request.method !== "GET") return { status: 405, reason: "method is not GET" };
  // RFC 6455 4.1: the handshake is an HTTP/1.1 request (ws does not check this one).
  if (request.httpVersion === "1.0") return { status: 400, reason: "HTTP/1.0 cannot upgrade" };
  if (upgrade?.toLowerCase() !== "websocket") {
    return { status: 400, reason: "Upgrade is not websocket" };
  }
  if (!WEBSOCKET_KEY.test(key ?? "")) {
    return { status: 400, reason: "missing or invalid Sec-WebSocket-Key" };
  }
  if (version !== "8" && version !== "13") {
    return { status: 400, reason: "unsupported Sec-WebSocket-Version" };
  }
  if (protocols !== undefined && parseSubprotocols(protocols) === undefined) {
    return { status: 400, reason: "invalid Sec-WebSocket-Protocol" };
  }
  return undefined;
}

// RFC 7230 tchar: what a subprotocol name may contain.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The subprotocol names of a `Sec-WebSocket-Protocol` value (comma-separated tokens, spaces
 * allowed around commas but not leading the value), or undefined when ws would refuse it: an
 * empty name, a character outside a token, or a name offered twice.
 */
export function parseSubprotocols(header: string): Set<string> | undefined {
  if (/^[ \t]/.test(header)) return undefined;
  const names = new Set<string>();
  for (const part of header.split(",")) {
    const name = part.replace(/^[ \t]+|[ \t]+$/g, "");
    if (!TOKEN.test(name) || names.has(name)) return undefined;
    names.add(name);
  }
  // ws refuses whitespace after the last name.
  return /[ \t]$/.test(header) ? undefined : names;
}
