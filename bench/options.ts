import { parseArgs } from "util";
import { STRATEGIES, StrategyId } from "./report";
import { parseRoomCase, RoomCase } from "./rooms";

export interface BenchOptions {
  clients: number[];
  latenciesMs: number[];
  rounds: number;
  strategies: StrategyId[];
  json?: string;
  loadSamples: number;
  /** Slow strategies get fewer rounds (or none) so that one of their cases stays near this. */
  maxCaseSeconds: number;
  /** Serve the gateway over TLS (wss://, https:// @connections), as API Gateway does. */
  tls: boolean;
  /** Where the fan-out processes write V8 CPU profiles (`--cpu-prof`), if anywhere. */
  cpuProf?: string;
  /** Other `node` binaries the bundles' load times are also measured on. */
  loadNodes: string[];
  /** One room's broadcast alone and among many rooms (bench/rooms.ts); undefined: skipped. */
  roomCase?: RoomCase;
}

export const USAGE = `npm run bench -- [options]

  --clients LIST       connected clients per case          (default 100,1000,10000)
  --latency LIST       ms the gateway adds to each @connections call (default 0,10)
  --rounds R           broadcasts per case and strategy     (default 5)
  --strategies LIST    which of ${Object.entries(STRATEGIES)
    .map(([id, name]) => `${id} ${name}`)
    .join(", ")}
                                                            (default 1,2,3,4,5,6,7)
  --max-case-seconds S "one at a time" gets fewer rounds beyond this, and is skipped
                       when one round would take over twice this (default 30)
  --load-samples K     fresh processes per bundle load-time figure; 0 skips it (default 10)
  --load-nodes PATHS   other node binaries (colon-separated) to measure load times on too,
                       e.g. "$(.ci/node 22)/node" (default: $CHAT_TEST_EXTRA_NODES)
  --json FILE          where to write every figure as JSON (default: a new file in the
                       temporary directory; the path is printed at the end)
  --no-tls             plain ws:// and http:// instead of TLS with a certificate made at
                       start (default: TLS, as every @connections call on AWS is HTTPS)
  --cpu-prof DIR       each fan-out process writes a V8 CPU profile (.cpuprofile) to DIR
  --room-case T/R      also broadcast to one room of T/R clients, alone and then among T
                       clients in R rooms, with this handler, at each latency (default
                       10000/100; 0 skips it)
  --help`;

function list(value: string, flag: string): number[] {
  const numbers = value.split(",").map((part) => Number(part.trim()));
  if (numbers.some((n) => !Number.isInteger(n) || n < 0))
    throw new Error(`${flag} takes non-negative integers, got "${value}"`);
  return numbers;
}

export function parseOptions(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: "string", default: "100,1000,10000" },
      latency: { type: "string", default: "0,10" },
      rounds: { type: "string", default: "5" },
      strategies: { type: "string", default: "1,2,3,4,5,6,7" },
      "max-case-seconds": { type: "string", default: "30" },
      "load-samples": { type: "string", default: "10" },
      json: { type: "string" },
      "no-tls": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      "load-nodes": { type: "string", default: process.env.CHAT_TEST_EXTRA_NODES ?? "" },
      "room-case": { type: "string", default: "10000/100" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const strategies = list(values.strategies, "--strategies");
  for (const id of strategies) if (!(id in STRATEGIES)) throw new Error(`No strategy ${id}`);
  const [rounds] = list(values.rounds, "--rounds");
  const clients = list(values.clients, "--clients").sort((a, b) => a - b);
  if (rounds < 1 || clients.some((n) => n < 1))
    throw new Error("--rounds and --clients must be at least 1");
  return {
    clients,
    latenciesMs: list(values.latency, "--latency"),
    rounds,
    strategies: strategies as StrategyId[],
    json: values.json,
    loadSamples: list(values["load-samples"], "--load-samples")[0],
    maxCaseSeconds: list(values["max-case-seconds"], "--max-case-seconds")[0],
    tls: !values["no-tls"],
    cpuProf: values["cpu-prof"],
    loadNodes: values["load-nodes"].split(":").filter(Boolean),
    roomCase: parseRoomCase(values["room-case"]),
  };
}
