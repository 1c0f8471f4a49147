import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { parseArgs } from "util";
import { messageFrame } from "../handlers/lib/frames";
import { HistoryStore } from "../handlers/lib/history-store";
import { messageId } from "../handlers/lib/message-id";
import { SendLedger } from "../handlers/lib/sends";
import { HISTORY_TABLE } from "../handlers/lib/tables";
import { ensureTable, LOCAL_AWS_ENV, startLocalDynamo } from "../local/dynamo";
import { median } from "./stats";

/**
 * `npm run bench:sequence`: what the per-room sequence and idempotent sends cost per message in
 * DynamoDB, next to the single history write that came before them. Each design writes the same
 * messages (a 300-byte frame) into a local DynamoDB (dynalite, which charges capacity units by
 * DynamoDB's rules) and sums the units every request reports (`ReturnConsumedCapacity`); a
 * conditional write that fails reports none, so those are counted apart, each at the units of
 * the item it would have written. Prices: on demand, US East.
 */

const USAGE = `npm run bench:sequence -- [--messages N] [--senders K] [--runs R]

  --messages N   messages per design and run (default 300)
  --senders K    senders writing into one room at once, for the contention case (default 5)
  --runs R       runs; each figure is the median of the runs (default 3)`;

const RRU_DOLLARS_PER_MILLION = 0.125;
const WRU_DOLLARS_PER_MILLION = 0.625;
const RETENTION_SECONDS = 24 * 60 * 60;
const DATA = JSON.stringify("x".repeat(160)); // a frame of about 300 bytes

interface Tally {
  requests: Record<string, number>;
  rru: number;
  wru: number;
  failedWrites: number;
}

function newTally(): Tally {
  return { requests: {}, rru: 0, wru: 0, failedWrites: 0 };
}

/** A client whose every request asks for, and adds to `tally`, the capacity it consumed. */
function meteredClient(endpoint: string, tally: () => Tally): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: {
      accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity = "TOTAL";
      const name = context.commandName ?? "?";
      const t = tally();
      t.requests[name] = (t.requests[name] ?? 0) + 1;
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: ConsumedCapacity })
          .ConsumedCapacity;
        if (consumed) {
          t.rru += consumed.ReadCapacityUnits ?? 0;
          t.wru += consumed.WriteCapacityUnits ?? 0;
          // dynalite reports CapacityUnits only; reads and writes are told apart by the command.
          if (consumed.ReadCapacityUnits === undefined && consumed.WriteCapacityUnits === undefined)
            if (/^(Query|GetItem|Scan)/.test(name)) t.rru += consumed.CapacityUnits ?? 0;
            else t.wru += consumed.CapacityUnits ?? 0;
        }
        return result;
      } catch (err) {
        // Charged on AWS as a write of the item's size: these items are under 1 KB.
        if (err instanceof ConditionalCheckFailedException) {
          t.failedWrites++;
          t.wru += 1;
        }
        throw err;
      }
    },
    { step: "initialize", name: "meterCapacity" },
  );
  return client;
}

interface ConsumedCapacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

type Design = "before" | "sequence" | "clientId" | "counter";
const DESIGNS: Record<Design, string> = {
  before: "before: one PutItem per message (history kept, no seq)",
  sequence: "seq: latest Query + conditional PutItem + head UpdateItem",
  clientId: "seq + clientId: + claim PutItem + settle UpdateItem",
  counter: "seq, history off (retention 0): counter UpdateItem",
};

interface Figures {
  requests: Record<string, number>;
  rru: number;
  wru: number;
  failedWrites: number;
  msPerMessage: number;
}

/** Writes `messages` into one room, `senders` at a time, the way `design` does; per message. */
async function runDesign(
  endpoint: string,
  table: string,
  design: Design,
  messages: number,
  senders: number,
): Promise<Figures> {
  const tally = newTally();
  // One client per sender: as many containers.
  const clients = Array.from({ length: senders }, () => meteredClient(endpoint, () => tally));
  const room = `room-${design}-${senders}`;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      const history = new HistoryStore(client, table, design === "counter" ? 0 : RETENTION_SECONDS);
      const ledger = new SendLedger(client, table, history);
      for (let i = next++; i < messages; i = next++) {
        const sentAtMs = Date.now();
        const id = messageId(sentAtMs);
        const frame = (seq?: number) =>
          messageFrame({ room, from: "bench", dataJson: DATA, sentAt: "", id, seq });
        if (design === "before") {
          await client.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                room: { S: room },
                id: { S: id },
                frame: { S: frame() },
                expiresAt: { N: String(Math.ceil(sentAtMs / 1000) + RETENTION_SECONDS) },
              },
            }),
          );
          continue;
        }
        const clientId = design === "clientId" ? `bench-${i}-${id}` : undefined;
        const claim = clientId ? await ledger.claim(room, clientId) : undefined;
        if (claim && claim.outcome !== "claimed") throw new Error(`unexpected ${claim.outcome}`);
        const seq = await history.append(
          { room, id, sentAtMs, clientId, frame },
          undefined,
          claim?.after,
        );
        if (design !== "counter") await history.advanceHead(room, seq, sentAtMs);
        if (clientId) await ledger.settle(room, clientId, { seq, id });
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const client of clients) client.destroy();
  const per = (n: number) => n / messages;
  return {
    requests: Object.fromEntries(Object.entries(tally.requests).map(([k, v]) => [k, per(v)])),
    rru: per(tally.rru),
    wru: per(tally.wru),
    failedWrites: per(tally.failedWrites),
    msPerMessage: elapsed / messages,
  };
}

function medianFigures(runs: Figures[]): Figures {
  const pick = (f: (x: Figures) => number) => median(runs.map(f));
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.requests)))];
  return {
    requests: Object.fromEntries(names.map((n) => [n, pick((r) => r.requests[n] ?? 0)])),
    rru: pick((r) => r.rru),
    wru: pick((r) => r.wru),
    failedWrites: pick((r) => r.failedWrites),
    msPerMessage: pick((r) => r.msPerMessage),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      messages: { type: "string", default: "300" },
      senders: { type: "string", default: "5" },
      runs: { type: "string", default: "3" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const messages = Number(values.messages);
  const senders = Number(values.senders);
  const runs = Number(values.runs);
  const dynamo = await startLocalDynamo();
  try {
    const rows: string[] = [];
    for (const parallel of [1, senders]) {
      const results = new Map<Design, Figures[]>();
      for (let run = 0; run < runs; run++) {
        // Designs side by side within each run, each on a fresh table.
        for (const design of Object.keys(DESIGNS) as Design[]) {
          const table = `bench-${design}-${parallel}-${run}`;
          await ensureTable(dynamo.endpoint, table, HISTORY_TABLE);
          const figures = await runDesign(dynamo.endpoint, table, design, messages, parallel);
          results.set(design, [...(results.get(design) ?? []), figures]);
        }
      }
      for (const [design, figures] of results) {
        const m = medianFigures(figures);
        const dollars = m.rru * RRU_DOLLARS_PER_MILLION + m.wru * WRU_DOLLARS_PER_MILLION;
        const requests = Object.entries(m.requests)
          .map(([name, n]) => `${n.toFixed(2)} ${name.replace(/Command$/, "")}`)
          .join(", ");
        rows.push(
          `| ${parallel} | ${DESIGNS[design]} | ${requests} | ${m.rru.toFixed(2)} | ` +
            `${m.wru.toFixed(2)} | ${m.failedWrites.toFixed(2)} | $${dollars.toFixed(3)} | ` +
            `${m.msPerMessage.toFixed(2)} |`,
        );
      }
    }
    console.log(
      `${messages} messages of ~300 B per design and run, median of ${runs} runs (dynalite)\n`,
    );
    console.log(
      "| senders at once | design | requests per message | RRU | WRU | failed cond. writes | $ per million messages | ms per message (dynalite) |",
    );
    console.log("| --: | --- | --- | --: | --: | --: | --: | --: |");
    for (const row of rows) console.log(row);
  } finally {
    await dynamo.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
