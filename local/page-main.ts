// `npm run page -- <url>`: the chat page alone, pointed at a deployed chat. See `--help`.
import { parseArgs } from "util";
import { chatArgsFromStackConfig } from "../components/stack-config";
import { resolveSettings } from "../components/settings";
import { IDLE_TIMEOUT_MS, MAX_FRAME_BYTES } from "../handlers/lib/limits";
import { DEFAULT_STACK } from "./chat";
import { DEFAULT_PAGE_PORT, startPageServer } from "./page-server";
import { readStackFiles } from "./stack-files";

const HELP = `Serves the chat page on this machine, pointed at a chat deployed with pulumi up:

  npm run page -- "$(pulumi stack output url)"

then open the printed address in a browser. Nothing but the page runs here; the browser
connects to the URL given.

Usage: npm run page -- <ws:// or wss:// URL> [options]

Options (environment variable in brackets):
  --port <n>        port of the page, 0 for any free one   [CHAT_PAGE_PORT] default ${DEFAULT_PAGE_PORT}
  --host <addr>     interface to listen on                 [CHAT_HOST]      default 127.0.0.1
  --stack <name>    read Pulumi.<name>.yaml for the route selection expression and the
                    message route the page uses             [CHAT_STACK]     default ${DEFAULT_STACK}
  -h, --help        show this help

The page's address takes overrides too: ?room=, ?name=, ?url=, and ?actionField= / ?routeKey=
for a chat routed on another field or key (e.g. ?actionField=message&routeKey=pushmessage).
`;

class UsageError extends Error {}

function parseCommandLine() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: "string", short: "p" },
      host: { type: "string" },
      stack: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  if (positionals.length !== 1) throw new UsageError("Give the chat's URL, and only that.");
  const url = chatUrl(positionals[0]);
  const rawPort = values.port ?? process.env.CHAT_PAGE_PORT;
  const port = rawPort === undefined || rawPort === "" ? DEFAULT_PAGE_PORT : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, got "${rawPort}"`);
  return {
    url,
    port,
    host: values.host ?? process.env.CHAT_HOST,
    stack: values.stack ?? process.env.CHAT_STACK ?? DEFAULT_STACK,
  };
}

/** The chat's URL as the page needs it: ws:// or wss://, no query (the page adds its own). */
function chatUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UsageError(`"${raw}" is not a URL: expected wss://{api-id}.execute-api.../{stage}`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new UsageError(
      `"${raw}" is not a WebSocket URL: expected ws:// or wss://, as pulumi stack output url prints`,
    );
  }
  url.search = "";
  url.hash = "";
  return url.href;
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseCommandLine>;
  try {
    options = parseCommandLine();
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    process.exit(2);
  }
  if (!options) {
    console.log(HELP);
    return;
  }

  // The routing `pulumi up` deployed for this stack, resolved as the component resolves it.
  let routing: { routeSelectionExpression: string; messageRoute: string };
  try {
    routing = resolveSettings(
      chatArgsFromStackConfig(readStackFiles(options.stack).config),
      options.stack,
    );
  } catch (err) {
    console.error(`Stack ${options.stack}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const { routeSelectionExpression, messageRoute } = routing;
  const { url } = options;
  const page = await startPageServer({
    host: options.host,
    port: options.port,
    config: () => ({
      url,
      routeSelectionExpression,
      messageRoute,
      maxFrameBytes: MAX_FRAME_BYTES,
      idleTimeoutSeconds: IDLE_TIMEOUT_MS / 1000,
    }),
  }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      console.error(
        `Port ${options.port} is in use: pick another with --port <n> or CHAT_PAGE_PORT.`,
      );
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
    process.exit(1);
  });
  console.log(
    [
      `The chat page for ${url}`,
      `  (routing ${routeSelectionExpression}, message route ${messageRoute}, from stack ${options.stack})`,
      "Open this in a browser, pick a name and a room:",
      `  ${page.url}`,
      "",
      "Press Ctrl-C to stop.",
    ].join("\n"),
  );
  const stop = () => void page.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

void main();
