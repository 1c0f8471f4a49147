import * as fs from "fs/promises";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { describeError } from "../handlers/lib/log";
import { FIXED_ACTIONS } from "../handlers/routes";

/** What the page is told of the chat by whoever starts the page server. */
export interface PageConfig {
  /** The chat's `ws://` or `wss://` URL, without a query. */
  url: string;
  /** Where the route key goes in each message, e.g. `$request.body.action`. */
  routeSelectionExpression: string;
  /** The route key that broadcasts a message, e.g. `sendmessage`. */
  messageRoute: string;
  /** The largest frame the gateway accepts: the page refuses bigger messages before sending. */
  maxFrameBytes: number;
  /** How long the gateway lets a connection sit idle: the page speaks up before then. */
  idleTimeoutSeconds: number;
}

/**
 * What the page reads from `/config.json`: where to connect and how to route its actions. The
 * route keys of the chat's own actions come from the route table, which the page never copies.
 */
export interface ServedPageConfig extends PageConfig {
  /** The chat's own actions' route keys, by handler: `{ "history": "history", "who": "who" }`. */
  actions: Readonly<Record<string, string>>;
}

export interface PageServerOptions {
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * The page's settings for one request. `requestHost` is the host name the browser used, so
   * that a page reached over the network can be pointed at the same machine's gateway.
   */
  config: (requestHost: string | undefined) => PageConfig;
}

export interface PageServer {
  /** `http://host:port/`: what to open in a browser. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_PAGE_PORT = 3000;

/** The page's files: the only paths served, so no request can name anything else on disk. */
const PAGE_DIR = path.join(__dirname, "page");
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/chat.css": { file: "chat.css", type: "text/css; charset=utf-8" },
  "/chat.mjs": { file: "chat.mjs", type: "text/javascript; charset=utf-8" },
  "/protocol.mjs": { file: "protocol.mjs", type: "text/javascript; charset=utf-8" },
};

// The page runs only its own scripts and styles, and may open WebSockets anywhere: were text
// from the network ever inserted as HTML, an injected handler still would not run.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Serves the chat page (local/page/) and its `/config.json` over plain HTTP. Files are read on
 * each request, so an edited page shows on reload. Listening on a loopback address, it answers
 * only requests addressed to a loopback name, so a web site cannot reach it through DNS
 * rebinding.
 */
export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const host = options.host ?? "127.0.0.1";
  const loopbackOnly = LOOPBACK_NAMES.has(host) || host.startsWith("127.");
  const server = http.createServer((request, response) => {
    handle(request, response).catch((err: unknown) => {
      if (!response.headersSent) respond(response, 500, "text/plain", "Internal error\n");
      // One JSON object per line, as the rest of npm start's log.
      const entry = { event: "page_request_failed", ...describeError(err) };
      console.error(JSON.stringify({ time: new Date().toISOString(), source: "page", ...entry }));
    });
  });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse) {
    const requestHost = hostName(request.headers.host);
    if (loopbackOnly && !(requestHost && isLoopbackName(requestHost))) {
      return respond(response, 421, "text/plain", "This server answers only for localhost.\n");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD");
      return respond(response, 405, "text/plain", "Only GET and HEAD.\n");
    }
    const pathname = (request.url ?? "/").split("?", 1)[0];
    if (pathname === "/config.json") {
      const served: ServedPageConfig = { ...options.config(requestHost), actions: FIXED_ACTIONS };
      const body = JSON.stringify(served, null, 2) + "\n";
      return respond(response, 200, "application/json; charset=utf-8", body, request.method);
    }
    const entry = Object.hasOwn(FILES, pathname) ? FILES[pathname] : undefined;
    if (!entry) return respond(response, 404, "text/plain", "Not found.\n");
    const body = await fs.readFile(path.join(PAGE_DIR, entry.file));
    respond(response, 200, entry.type, body, request.method);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function respond(
  response: http.ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  method = "GET",
): void {
  response.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  });
  response.end(method === "HEAD" ? undefined : body);
}

/** The host name of a Host header (`[::1]:3000` -> `[::1]`), or undefined if it is not one. */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    return new URL(`http://${header}`).hostname;
  } catch {
    return undefined;
  }
}

function isLoopbackName(name: string): boolean {
  return LOOPBACK_NAMES.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * The gateway URL to give a browser that reached the page as `requestHost`: a gateway listening
 * on every interface is reached by the same name the browser used for the page.
 */
export function gatewayUrlFor(
  gatewayUrl: string,
  gatewayHost: string | undefined,
  requestHost: string | undefined,
): string {
  if (!requestHost || (gatewayHost !== "0.0.0.0" && gatewayHost !== "::")) return gatewayUrl;
  const url = new URL(gatewayUrl);
  url.hostname = requestHost;
  return url.href;
}
