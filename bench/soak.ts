import { DynamoDBClient, ScanCommand, ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { WebSocket } from "ws";
import { processTreeRss } from "./process-tree";
import { percentile } from "./stats";

/**
 * The soak: `npm start` as a user runs it, in a process of its own, under a sustained mixed load
 * on loopback. Steady clients stay connected throughout and each send messages one after
 * another (the next once the last came back, or failed), while churning clients connect and
 * disconnect. Every message's copies are counted at every steady client, so nothing lost or
 * duplicated goes unnoticed, and the table is read at the end. Bounded in count and in time.
 */

export interface SoakOptions {
  /** Clients connected throughout, each sending `messages`. */
  clients: number;
  messages: number;
  /** Connect/disconnect cycles run alongside the messages. */
  churn: number;
  /** Churn cycles in flight at once. */
  churners: number;
  /**
   * The average pause before each message a steady client sends (a random half to one and a
   * half times this), as
   * people pause between messages. 0 sends each as soon as the last came back: more than a
   * small machine can broadcast in API Gateway's time, so some are throttled.
   */
  thinkMs: number;
  /** `npm start --concurrency`; undefined leaves its default. */
  concurrency?: number;
  /** The whole run gives up after this long. */
  timeoutMs: number;
  /**
   * How long npm start is left alone after its banner before its idle memory is read (its RSS
   * settles over about 15 s, as the start-up's garbage is collected and returned).
   */
  idleSettleMs: number;
  /** Progress lines. */
  log: (line: string) => void;
}

export interface SoakReport {
  options: Omit<SoakOptions, "log">;
  durationMs: number;
  sent: number;
  /** Messages whose sender got an error frame instead of its own copy. */
  refused: number;
  /** Copies owed to the steady clients: every message not refused, to every steady client. */
  expected: number;
  delivered: number;
  lost: number;
  /** Copies a client received more than once (steady and churning clients alike). */
  duplicated: number;
  deliveryMs: { p50: number; p99: number; max: number };
  /** Frames that were errors: API Gateway's or the chat's. */
  errorFrames: number;
  /** Error frames a sender got for a message that was delivered all the same. */
  errorFramesForDelivered: number;
  errorKinds: Record<string, number>;
  churn: { cycles: number; refused: number };
  table: { whileConnected: number; connected: number; atEnd: number };
  /** What `npm start` and its child processes held, idle, before the first client came. */
  idleRss?: { bytes: number; processes: number };
  /** The most resident memory `npm start` and its child processes held at once. */
  peakRss?: { bytes: number; processes: number };
}

/** The floors a soak must hold; each broken one is named. */
export function brokenFloors(report: SoakReport, maxRssBytes?: number): string[] {
  const broken: string[] = [];
  if (report.lost > 0) broken.push(`${report.lost} copies lost`);
  if (report.duplicated > 0) broken.push(`${report.duplicated} copies duplicated`);
  if (report.errorFramesForDelivered > 0)
    broken.push(`${report.errorFramesForDelivered} error frames for delivered messages`);
  if (report.table.whileConnected !== report.table.connected)
    broken.push(
      `the table held ${report.table.whileConnected} records for ${report.table.connected} connections`,
    );
  if (report.table.atEnd !== 0) broken.push(`${report.table.atEnd} records left at the end`);
  if (report.delivered === 0) broken.push("nothing was delivered");
  const planned = report.options.clients * report.options.messages;
  if (report.sent < planned)
    broken.push(`the run was cut short: ${report.sent} of ${planned} messages sent`);
  if (report.churn.cycles < report.options.churn)
    broken.push(
      `the run was cut short: ${report.churn.cycles} of ${report.options.churn} churn cycles`,
    );
  if (maxRssBytes !== undefined && report.peakRss && report.peakRss.bytes > maxRssBytes)
    broken.push(`peak RSS ${mb(report.peakRss.bytes)} over ${mb(maxRssBytes)}`);
  return broken;
}

const ROOT = path.resolve(__dirname, "..");
// npm's own process is part of what a user's `npm start` holds, so the soak runs it too. (The
// soak reads memory from /proc and signals a process group: Linux only.)
const NPM = "npm";
// How long a sender waits for its own copy or an error: past API Gateway's 29 s, anything is lost.
const ANSWER_TIMEOUT_MS = 35_000;
// Copies still missing after this long without any arriving are lost.
const QUIET_MS = 5_000;
const RSS_SAMPLE_MS = 250;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const chat = await startChat(options);
  const rss = sampleRss(chat.process.pid!);
  const steady: SoakClient[] = [];
  try {
    await sleep(options.idleSettleMs);
    const idleRss = processTreeRss(chat.process.pid!);
    options.log(`npm start is up at ${chat.url}; connecting ${options.clients} clients`);
    for (let i = 0; i < options.clients; i += 50) {
      const batch = Array.from({ length: Math.min(50, options.clients - i) }, (_, j) =>
        SoakClient.connect(chat.url, i + j),
      );
      steady.push(...(await Promise.all(batch)));
    }
    const tally = new Tally();
    for (const client of steady) client.onText = (text) => tally.receive(client, text, true);

    options.log(
      `sending ${options.clients * options.messages} messages; churning ${options.churn} connections`,
    );
    const [churn] = await Promise.all([
      runChurn(chat.url, options, tally, deadline),
      Promise.all(
        steady.map((client) => sendAll(client, options.messages, options.thinkMs, tally, deadline)),
      ),
    ]);

    options.log("waiting for the last copies");
    await tally.settle(steady, deadline);
    const whileConnected = await untilCount(chat.dynamo, chat.tableName, options.clients, deadline);
    options.log("closing the steady clients");
    await Promise.all(steady.map((client) => client.close()));
    const atEnd = await untilCount(chat.dynamo, chat.tableName, 0, deadline);
    return {
      options: {
        clients: options.clients,
        messages: options.messages,
        churn: options.churn,
        churners: options.churners,
        thinkMs: options.thinkMs,
        concurrency: options.concurrency,
        timeoutMs: options.timeoutMs,
        idleSettleMs: options.idleSettleMs,
      },
      durationMs: Date.now() - started,
      ...tally.report(steady),
      churn,
      table: { whileConnected, connected: options.clients, atEnd },
      idleRss,
      peakRss: rss.peak,
    };
  } finally {
    for (const client of steady) client.terminate();
    rss.stop();
    await chat.stop();
  }
}

/** One WebSocket client of the soak: a steady sender or a churning one. */
class SoakClient {
  onText: (text: string) => void = () => {};
  /** Waiting for this client's own copy (or an error) of its message number `awaiting`. */
  answer?: (outcome: "copy" | "error") => void;
  awaiting?: number;
  /** The key of the last message this client sent: an error frame that comes late is its. */
  lastKey?: string;
  private readonly closed: Promise<void>;

  private constructor(
    readonly socket: WebSocket,
    readonly index: number,
  ) {
    socket.on("message", (data: Buffer) => this.onText(data.toString()));
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  static connect(url: string, index: number): Promise<SoakClient> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      socket.once("open", () => resolve(new SoakClient(socket, index)));
      socket.once("unexpected-response", (_request, response) => {
        response.resume();
        socket.terminate();
        reject(new Error(`upgrade refused with ${response.statusCode}`));
      });
      socket.once("error", reject);
    });
  }

  send(text: string): void {
    this.socket.send(text);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    await this.closed;
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/** What every client received, and what every sender was told. */
class Tally {
  /** Per message key ("sender:n"): when it was sent, and what its sender was told. */
  private readonly sent = new Map<string, { at: number; error: boolean }>();
  private readonly copies = new Map<number, Set<string>>();
  private readonly delivered = new Set<string>();
  private readonly latencies: number[] = [];
  private duplicated = 0;
  private errorFrames = 0;
  private readonly errorKinds = new Map<string, number>();
  private lastArrival = Date.now();

  message(sender: number, n: number): string {
    const key = `${sender}:${n}`;
    const at = Date.now();
    this.sent.set(key, { at, error: false });
    return `soak:${key}:${at}`;
  }

  receive(client: SoakClient, text: string, steady: boolean): void {
    this.lastArrival = Date.now();
    const match = /^soak:(\d+):(\d+):(\d+)$/.exec(text);
    if (!match) return this.error(client, text);
    const key = `${match[1]}:${match[2]}`;
    let seen = this.copies.get(steady ? client.index : -1 - client.index);
    if (!seen) {
      seen = new Set();
      this.copies.set(steady ? client.index : -1 - client.index, seen);
    }
    if (seen.has(key)) {
      this.duplicated++;
      return;
    }
    seen.add(key);
    this.delivered.add(key);
    this.latencies.push(this.lastArrival - Number(match[3]));
    if (steady && Number(match[1]) === client.index && Number(match[2]) === client.awaiting)
      client.answer?.("copy");
  }

  /**
   * An error frame is about the last message its client sent, whether it came before that
   * message's own copy (the message was refused) or after it (then it was delivered all the
   * same, and the report counts an error frame for a delivered message).
   */
  private error(client: SoakClient, text: string): void {
    this.errorFrames++;
    const kind = errorKind(text);
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
    if (client.lastKey !== undefined) this.refused(client.lastKey);
    client.answer?.("error");
  }

  refused(key: string): void {
    this.sent.get(key)!.error = true;
  }

  /** Resolves once every steady client holds every copy it is owed, or none arrived for a while. */
  async settle(steady: SoakClient[], deadline: number): Promise<void> {
    const owed = () => this.owed().size * steady.length;
    const held = () => {
      const owed = this.owed();
      let sum = 0;
      for (const client of steady) {
        for (const key of this.copies.get(client.index) ?? []) if (owed.has(key)) sum++;
      }
      return sum;
    };
    while (held() < owed() && Date.now() - this.lastArrival < QUIET_MS && Date.now() < deadline) {
      await sleep(100);
    }
  }

  private owed(): Set<string> {
    return new Set([...this.sent].filter(([, { error }]) => !error).map(([key]) => key));
  }

  report(steady: SoakClient[]) {
    const owed = this.owed();
    let delivered = 0;
    for (const client of steady) {
      for (const key of this.copies.get(client.index) ?? []) if (owed.has(key)) delivered++;
    }
    const expected = owed.size * steady.length;
    const refusedButDelivered = [...this.sent].filter(
      ([key, { error }]) => error && this.delivered.has(key),
    ).length;
    return {
      sent: this.sent.size,
      refused: this.sent.size - owed.size,
      expected,
      delivered,
      lost: expected - delivered,
      duplicated: this.duplicated,
      deliveryMs: {
        p50: percentile(this.latencies, 50),
        p99: percentile(this.latencies, 99),
        max: this.latencies.reduce((max, ms) => Math.max(max, ms), 0),
      },
      errorFrames: this.errorFrames,
      errorFramesForDelivered: refusedButDelivered,
      errorKinds: Object.fromEntries(this.errorKinds),
    };
  }
}

/** "Internal server error", "BroadcastFailed"...: what an error frame says it is. */
function errorKind(text: string): string {
  try {
    const frame = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof frame.error === "string") return frame.error;
    if (typeof frame.message === "string") return frame.message;
  } catch {
    // not JSON
  }
  return "unexpected frame";
}

/** Sends `count` messages, each once the last one came back to its sender (or failed). */
async function sendAll(
  client: SoakClient,
  count: number,
  thinkMs: number,
  tally: Tally,
  deadline: number,
) {
  for (let n = 0; n < count && Date.now() < deadline; n++) {
    await sleep((0.5 + Math.random()) * thinkMs);
    const outcome = new Promise<"copy" | "error" | "timeout">((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), ANSWER_TIMEOUT_MS);
      client.answer = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
    });
    const message = tally.message(client.index, n);
    client.awaiting = n;
    client.lastKey = `${client.index}:${n}`;
    client.send(JSON.stringify({ action: "sendmessage", data: message }));
    // Only an error frame refuses a message (Tally.error marks it): one that never came back
    // is still owed.
    await outcome;
    client.answer = undefined;
    client.awaiting = undefined;
  }
}

/** `options.churn` connect/disconnect cycles, `options.churners` at a time. */
async function runChurn(url: string, options: SoakOptions, tally: Tally, deadline: number) {
  let started = 0;
  let refused = 0;
  let index = 0;
  // Each connection stays long enough for the cycles to span the messages' whole run.
  const holdMs =
    (options.messages * options.thinkMs) / Math.max(1, options.churn / options.churners);
  const loop = async () => {
    while (started < options.churn && Date.now() < deadline) {
      started++;
      try {
        const client = await SoakClient.connect(url, index++);
        client.onText = (text) => tally.receive(client, text, false);
        // Connected for a while: among the recipients of some broadcasts.
        await sleep((0.5 + Math.random()) * holdMs);
        await client.close();
      } catch {
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.churners }, loop));
  return { cycles: started, refused };
}

interface RunningChat {
  process: ChildProcess;
  url: string;
  dynamo: DynamoDBClient;
  tableName: string;
  stop(): Promise<void>;
}

/** `npm start --port 0` in a process of its own, once it prints its URLs. */
async function startChat(options: SoakOptions): Promise<RunningChat> {
  const args = ["start", "--silent", "--", "--port", "0"];
  if (options.concurrency !== undefined) args.push("--concurrency", String(options.concurrency));
  // A process group of its own: signals go to npm, its shell and the chat alike.
  const child = spawn(NPM, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  // Whatever ends this process ends npm start too: an exit (mocha's --exit after a timeout,
  // say), or Ctrl-C and SIGTERM, which no longer reach npm start in its own group. A signal
  // kills this process without an exit event, so each is handled here, then passed on.
  const killOnExit = () => signal("SIGKILL");
  const onSignal = (name: NodeJS.Signals) => {
    signal("SIGKILL");
    process.kill(process.pid, name);
  };
  process.once("exit", killOnExit);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let output = "";
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      process.off("exit", killOnExit);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve();
    }),
  );
  const ready = new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      // Only the banner is kept: the per-connection log lines are drained and dropped.
      if (output.length < 64 * 1024) output += chunk.toString();
      const match = /WebSocket URL +(\S+)[^]*DynamoDB +(\S+), table (\S+)/.exec(output);
      if (match) resolve(match);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then(() => reject(new Error(`npm start exited:\n${output}`)));
  });
  const timeout = setTimeout(() => signal("SIGKILL"), 60_000);
  const [, url, dynamoEndpoint, tableName] = await ready.finally(() => clearTimeout(timeout));
  const dynamo = new DynamoDBClient({
    endpoint: dynamoEndpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "soak", secretAccessKey: "soak" },
  });
  return {
    process: child,
    url,
    dynamo,
    tableName,
    async stop() {
      dynamo.destroy();
      if (child.exitCode === null) signal("SIGINT");
      const killer = setTimeout(() => signal("SIGKILL"), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Reads the table's size until it is `expected` or 10 s have passed; the last count read. */
async function untilCount(
  dynamo: DynamoDBClient,
  tableName: string,
  expected: number,
  deadline: number,
): Promise<number> {
  const giveUp = Math.min(deadline, Date.now() + 10_000);
  for (;;) {
    const count = await tableCount(dynamo, tableName);
    if (count === expected || Date.now() >= giveUp) return count;
    await sleep(100);
  }
}

async function tableCount(dynamo: DynamoDBClient, tableName: string): Promise<number> {
  let count = 0;
  let page: ScanCommandOutput | undefined;
  do {
    page = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        Select: "COUNT",
        ExclusiveStartKey: page?.LastEvaluatedKey,
      }),
    );
    count += page.Count ?? 0;
  } while (page.LastEvaluatedKey);
  return count;
}

function sampleRss(pid: number) {
  const sampler = {
    peak: undefined as { bytes: number; processes: number } | undefined,
    stop: () => clearInterval(timer),
  };
  const sample = () => {
    const now = processTreeRss(pid);
    if (now && now.bytes > (sampler.peak?.bytes ?? 0)) sampler.peak = now;
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  sample();
  return sampler;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
