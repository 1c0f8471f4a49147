// `npm start`: the whole chat on this machine. See `npm start -- --help`.
import * as path from "path";
import { parseArgs } from "util";
import { IDLE_TIMEOUT_MS, MAX_CONNECTION_MS, MAX_FRAME_BYTES } from "../handlers/lib/limits";
import { actionMessage, exampleMessage } from "../handlers/lib/message";
import { FIXED_ACTIONS } from "../handlers/routes";
import { isOpen } from "../components/settings";
import { DEFAULT_PORT, DEFAULT_STACK, LocalChat, localAccess, startLocalChat } from "./chat";
import { DEFAULT_CONCURRENCY } from "./lambda-runtime";
import { DEFAULT_PAGE_PORT, PageServer, gatewayUrlFor, startPageServer } from "./page-server";

const DEFAULT_PERSIST_DIR = ".local-data";

const HELP = `Runs the WebSocket chat locally: the deployable Lambda bundles behind an API Gateway
WebSocket emulator, with an in-process DynamoDB (dynalite). No AWS account needed.

Usage: npm start [-- options]

Options (environment variable in brackets):
  --port <n>             gateway port, 0 for any free one       [CHAT_PORT]  default ${DEFAULT_PORT}
  --host <addr>          interface to listen on                 [CHAT_HOST]  default 127.0.0.1
  --page-port <n>        port of the chat page, 0 for any free one [CHAT_PAGE_PORT]
                         default ${DEFAULT_PAGE_PORT} (any free one when --port is 0)
  --stack <name>         read Pulumi.<name>.yaml for the stage, route selection expression
                         and message route                      [CHAT_STACK] default ${DEFAULT_STACK}
  --stage <name>         URL path segment                       [CHAT_STAGE] default: stageName
                         from Pulumi.<stack>.yaml, else the stack name
  --data-dir <dir>       keep the table's data in <dir> across runs [CHAT_DATA_DIR]
                         default: in memory
  --persist              same as --data-dir ${DEFAULT_PERSIST_DIR}
  --idle-timeout <s>     close connections idle this long       default ${IDLE_TIMEOUT_MS / 1000} (API Gateway's)
  --max-connection <s>   close connections open this long       default ${MAX_CONNECTION_MS / 1000} (API Gateway's)
  --concurrency <n>      invocations of one function that run at once, each in a worker
                         thread of its own; more wait their turn, 10 s at most
                         [CHAT_CONCURRENCY] default ${DEFAULT_CONCURRENCY}
  -h, --help             show this help

Access control and the message rate limit come from the stack as well (accessToken, authIssuer,
authAudience, messageRateBurst, ...). A secret accessToken is encrypted in Pulumi.<stack>.yaml,
which only the Pulumi CLI can read: pass it as CHAT_ACCESS_TOKEN, e.g.
  CHAT_ACCESS_TOKEN="$(pulumi config get accessToken)" npm start

Ctrl-C closes every connection (running $disconnect) and exits.
`;

function parseCommandLine() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", short: "p" },
      host: { type: "string" },
      "page-port": { type: "string" },
      stack: { type: "string" },
      stage: { type: "string" },
      "data-dir": { type: "string" },
      persist: { type: "boolean" },
      "idle-timeout": { type: "string" },
      "max-connection": { type: "string" },
      concurrency: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const env = process.env;
  const dataDir =
    values["data-dir"] ?? env.CHAT_DATA_DIR ?? (values.persist ? DEFAULT_PERSIST_DIR : undefined);
  const port = integer("--port", values.port ?? env.CHAT_PORT, DEFAULT_PORT);
  return {
    help: values.help ?? false,
    port,
    // Asked for any free gateway port (tests, scripts), the page takes any free one too.
    pagePort: integer(
      "--page-port",
      values["page-port"] ?? env.CHAT_PAGE_PORT,
      port === 0 ? 0 : DEFAULT_PAGE_PORT,
    ),
    host: values.host ?? env.CHAT_HOST,
    stack: values.stack ?? env.CHAT_STACK ?? DEFAULT_STACK,
    stage: values.stage ?? env.CHAT_STAGE,
    dataDir: dataDir ? path.resolve(dataDir) : undefined,
    idleTimeoutMs: optionalSeconds("--idle-timeout", values["idle-timeout"]),
    maxConnectionMs: optionalSeconds("--max-connection", values["max-connection"]),
    concurrency: positiveInteger(
      "--concurrency",
      values.concurrency ?? env.CHAT_CONCURRENCY,
      DEFAULT_CONCURRENCY,
    ),
    // From the environment only: a command-line argument shows in every process listing.
    accessToken: env.CHAT_ACCESS_TOKEN || undefined,
  };
}

function integer(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new UsageError(`${name} must be a whole number, got "${raw}"`);
  return value;
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  const value = integer(name, raw, fallback);
  if (value < 1) throw new UsageError(`${name} must be at least 1, got "${raw}"`);
  return value;
}

// Node fires longer timers at once (with a warning): every connection would close on arrival.
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function optionalSeconds(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (!(seconds > 0 && seconds <= MAX_TIMER_SECONDS)) {
    throw new UsageError(
      `${name} must be a number of seconds from 0 to ${MAX_TIMER_SECONDS}, got "${raw}"`,
    );
  }
  return seconds * 1000;
}

class UsageError extends Error {}

/**
 * Writes one log line to stdout as one JSON object: when, where from (`gateway`, `npm start`, or
 * a function's name), then the entry. A line that is a JSON object (every line the gateway and
 * the handlers log) keeps its fields; anything else a function prints (a runtime's warning, say)
 * is kept as its `text`.
 */
function log(source: string, line: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  const fields =
    typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? parsed
      : { event: "output", text: line };
  console.log(JSON.stringify({ time: new Date().toISOString(), source, ...fields }));
}

/** Logs an event of `npm start` itself (stopping, say). */
function logEvent(event: string, fields: Record<string, unknown> = {}): void {
  log("npm start", JSON.stringify({ event, ...fields }));
}

function printReady({ chat, page }: Running, stack: string, dataDir: string | undefined): void {
  const shape = {
    routeSelectionExpression: chat.routeSelectionExpression,
    messageRoute: chat.messageRoute,
  };
  const example = JSON.stringify(exampleMessage(shape));
  const action = (routeKey: string) => JSON.stringify(actionMessage(shape, routeKey));
  console.log(
    [
      `Local chat is running (stack ${stack}, stage ${chat.stage}).`,
      `  WebSocket URL     ${chat.url}`,
      `  @connections API  ${chat.managementEndpoint}/@connections/{connectionId}`,
      `  DynamoDB          ${chat.dynamoEndpoint}, table ${chat.tableName} (${dataDir ? `data in ${dataDir}` : "in memory"})`,
      `  Routing           ${chat.routeSelectionExpression}, message route ${chat.messageRoute}`,
      `  Access            ${accessLine(chat)}`,
      `  Rate limit        ${rateLine(chat)}`,
      "",
      "Chat in a browser: open this in two tabs, pick names and a room:",
      `  ${page.url}`,
      "Or from two terminals:",
      `  npx wscat -c ${isOpen(chat.settings.access) ? chat.url : `'${chat.url}?token=<token>'`}`,
      `  > ${example}`,
      "",
      "Rooms, names and JSON frames (README: Rooms, names, history and who):",
      `  npx wscat -c '${chat.url}?room=red&name=Ann${isOpen(chat.settings.access) ? "" : "&token=<token>"}' -s chat.v1`,
      `  ${Object.values(FIXED_ACTIONS)
        .map((routeKey) => `> ${action(routeKey)}`)
        .join("   ")}`,
      "",
      "Press Ctrl-C to stop.",
    ].join("\n"),
  );
}

function accessLine(chat: LocalChat): string {
  const { accessToken } = chat.settings.access;
  const { jwt } = localAccess(chat.settings.access);
  const who = [
    ...(accessToken === undefined ? [] : ["the stack's access token"]),
    ...(jwt ? [`JWTs from ${jwt.issuer} for ${jwt.audience}`] : []),
  ];
  return who.length === 0
    ? "anyone may connect"
    : `${who.join(" or ")} (?token=<token, URL-encoded> or Authorization: Bearer <token>)`;
}

function rateLine(chat: LocalChat): string {
  const { burst, perSecond } = chat.settings.messageRateLimit;
  return burst > 0 && perSecond > 0
    ? `${burst} messages at once, then ${perSecond} a second, per connection`
    : "none";
}

interface Running {
  chat: LocalChat;
  page: PageServer;
}

/** A port that is taken, said with the flag that picks another. */
class PortInUse extends Error {}

async function startAll(options: ReturnType<typeof parseCommandLine>): Promise<Running> {
  const chat = await startLocalChat({
    ...options,
    log: (line) => log("gateway", line),
    functionLog: (line, functionName) => log(functionName, line),
  }).catch((err: unknown) => {
    throw inUse(err, `Port ${options.port} is in use: pick another with --port <n> or CHAT_PORT.`);
  });
  try {
    const page = await startPageServer({
      host: options.host,
      port: options.pagePort,
      config: (requestHost) => ({
        url: gatewayUrlFor(chat.url, options.host, requestHost),
        routeSelectionExpression: chat.routeSelectionExpression,
        messageRoute: chat.messageRoute,
        maxFrameBytes: MAX_FRAME_BYTES,
        idleTimeoutSeconds: (options.idleTimeoutMs ?? IDLE_TIMEOUT_MS) / 1000,
      }),
    });
    return { chat, page };
  } catch (err) {
    await chat.close();
    throw inUse(
      err,
      `Port ${options.pagePort} (the page's) is in use: pick another with --page-port <n> or CHAT_PAGE_PORT.`,
    );
  }
}

function inUse(err: unknown, message: string): unknown {
  return (err as NodeJS.ErrnoException).code === "EADDRINUSE" ? new PortInUse(message) : err;
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseCommandLine>;
  try {
    options = parseCommandLine();
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(HELP);
    return;
  }

  // Signals are handled from the start: a Ctrl-C during startup still shuts down cleanly.
  let starting: Promise<Running | undefined> = Promise.resolve(undefined);
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logEvent("exiting", { signal, reason: "a second signal: not waiting for $disconnect" });
      process.exit(130);
    }
    stopping = true;
    const running = await starting;
    const open = running?.chat.gateway.connectionIds().length ?? 0;
    logEvent("stopping", {
      signal,
      connections: open,
      reason: "closing them, running $disconnect",
    });
    await Promise.all([running?.page.close(), running?.chat.close()]);
    logEvent("stopped");
    process.exit(0);
  };
  process.on("SIGINT", (signal) => void stop(signal));
  process.on("SIGTERM", (signal) => void stop(signal));

  console.log("Building the handler bundles and starting the local chat...");
  starting = startAll(options).catch((err: unknown) => {
    if (err instanceof PortInUse) console.error(err.message);
    else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
  const running = await starting;
  if (running && !stopping) printReady(running, options.stack, options.dataDir);
}

void main();
