// `npm run soak`: npm start under a sustained mixed load on loopback. See `npm run soak -- --help`.
import * as fs from "fs";
import { parseArgs } from "util";
import { SoakReport, brokenFloors, mb, runSoak } from "./soak";

const USAGE = `npm run soak -- [options]

Starts npm start in a process group of its own, reads its idle memory 20 s after it is up,
then, on loopback only, keeps it busy: steady clients stay connected and each send messages one
after another, while other clients connect and disconnect. Reports what was sent and delivered,
lost and duplicated copies, delivery times, error frames, the table's size, and the idle and
peak memory of all of npm start's processes (npm's own included); exits 1 when a floor breaks
(no copy lost or duplicated, no error frame for a delivered message, the table exact, the run
not cut short, peak RSS within --max-rss).

  --clients N       clients connected throughout              (default 200)
  --messages M      messages each of them sends               (default 5)
  --churn C         connect/disconnect cycles meanwhile        (default 1000)
  --churners K      churn cycles in flight at once             (default 20)
  --think S         a client's average pause before each message, in seconds;
                    0 sends as fast as messages come back, more than a small
                    machine broadcasts within API Gateway's 29 s  (default 20)
  --concurrency N   npm start --concurrency                    (default: npm start's)
  --timeout S       the whole run gives up after S seconds     (default 600)
  --max-rss MB      the memory floor                           (default 1024)
  --json FILE       also write the report as JSON to FILE
  --help`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${name} must be a whole number from 1, got "${raw}"\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

function seconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(value >= 0 && value <= 600)) {
    console.error(`${name} must be a number of seconds from 0 to 600, got "${raw}"\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

function print(report: SoakReport, broken: string[], maxRssBytes: number): void {
  const { options: o, table, churn, deliveryMs } = report;
  const lines = [
    `Soak: ${o.clients} clients x ${o.messages} messages (${o.thinkMs / 1000} s apart on average), ` +
      `${o.churn} churn cycles (${o.churners} at a time), ` +
      `concurrency ${o.concurrency ?? "default"}, in ${(report.durationMs / 1000).toFixed(1)} s`,
    `  messages sent          ${report.sent} (${report.refused} refused with an error frame)`,
    `  copies delivered       ${report.delivered} of ${report.expected} owed to the steady clients`,
    `  lost / duplicated      ${report.lost} / ${report.duplicated}`,
    `  delivery time          p50 ${deliveryMs.p50} ms, p99 ${deliveryMs.p99} ms, max ${deliveryMs.max} ms`,
    `  error frames           ${report.errorFrames} (${report.errorFramesForDelivered} for delivered messages)` +
      (report.errorFrames > 0 ? ` ${JSON.stringify(report.errorKinds)}` : ""),
    `  churn                  ${churn.cycles} cycles, ${churn.refused} refused`,
    `  table                  ${table.whileConnected} records for ${table.connected} connections; ${table.atEnd} after all left`,
    `  idle RSS (npm start)   ${report.idleRss ? `${mb(report.idleRss.bytes)} over ${report.idleRss.processes} process(es), before any client` : "unknown (no /proc)"}`,
    `  peak RSS (npm start)   ${report.peakRss ? `${mb(report.peakRss.bytes)} over ${report.peakRss.processes} process(es)` : "unknown (no /proc)"}` +
      `, floor ${mb(maxRssBytes)}`,
    broken.length === 0 ? "Every floor holds." : `Broken floors: ${broken.join("; ")}.`,
  ];
  console.log(lines.join("\n"));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: "string" },
      messages: { type: "string" },
      churn: { type: "string" },
      churners: { type: "string" },
      think: { type: "string" },
      concurrency: { type: "string" },
      timeout: { type: "string" },
      "max-rss": { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return console.log(USAGE);
  const maxRssBytes = positive("--max-rss", values["max-rss"], 1024) * 1024 * 1024;
  const report = await runSoak({
    clients: positive("--clients", values.clients, 200),
    messages: positive("--messages", values.messages, 5),
    churn: positive("--churn", values.churn, 1000),
    churners: positive("--churners", values.churners, 20),
    thinkMs: seconds("--think", values.think, 20) * 1000,
    concurrency:
      values.concurrency === undefined
        ? undefined
        : positive("--concurrency", values.concurrency, 1),
    timeoutMs: positive("--timeout", values.timeout, 600) * 1000,
    idleSettleMs: 20_000,
    log: (line) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`),
  });
  const broken = brokenFloors(report, maxRssBytes);
  print(report, broken, maxRssBytes);
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exit(broken.length === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
