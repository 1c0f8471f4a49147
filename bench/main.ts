import { randomUUID } from "crypto";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { MAX_IN_FLIGHT } from "../handlers/lib/pool-poster";
import { ENV } from "../handlers/lib/environment";
import { HANDLER_NAMES } from "../handlers/routes";
import { writeBundle } from "../local/lambda-runtime";
import { localCertificate } from "../local/certificate";
import { LoadFigures, measureBundles } from "./bundle-load";
import { LEGACY_PLUGINS, writeLegacyMessageBundle } from "./legacy-bundle";
import { MAX_IN_FLIGHT as LEGACY_IN_FLIGHT } from "./legacy/pool-poster";
import { COMPILED_ENV, compileProcessScript } from "./compile";
import type { methods as ClientsMethods } from "./clients-process";
import type { methods as FanoutMethods } from "./fanout-process";
import type { methods as GatewayMethods } from "./gateway-process";
import { Cost } from "./measure";
import { Delivery } from "./strategies";
import { BenchOptions, parseOptions, USAGE } from "./options";
import {
  CaseResult,
  checkTargets,
  summarizeQuery,
  loadTable,
  QueryResult,
  queryTable,
  ratiosTable,
  resultsTable,
  Round,
  roundOf,
  StrategyId,
  summarize,
  targetsText,
} from "./report";
import { compareRooms, RoomComparison, roomsTable } from "./rooms";
import { Child } from "./rpc";

/**
 * `npm run bench`: broadcasts to N real WebSocket clients of the local gateway with each
 * strategy of issue 4, in three processes (clients; gateway and DynamoDB; the fan-out under
 * test), and prints what each costs. See `npm run bench -- --help`.
 */

// The signing client's concurrency is tuned per case: its best of these is its ceiling.
const SIGNING_CONCURRENCIES = [8, 32, 128, 512];
const CALIBRATE_UP_TO = 1_000;
// One post of "one at a time" takes about this long on this machine beyond the added latency.
const ONE_AT_A_TIME_OVERHEAD_MS = 2;
// Lets measure() collect garbage before each broadcast, so heap figures start from live data.
const FANOUT_EXEC_ARGV = ["--expose-gc"];

const progress = (line: string) => process.stderr.write(`${line}\n`);
const script = (name: string) => path.join(__dirname, name);

type Runner = (payload: string) => Promise<{ cost: Cost; delivery?: Delivery }>;
/** The signing clients, whose concurrency is tried out per case: node:https (4) and undici (5). */
type SigningStrategy = 4 | 5;
const SIGNING_STRATEGIES: SigningStrategy[] = [4, 5];
const SIGNING_METHOD = { 4: "signingClient", 5: "undiciSigningClient" } as const;
// Untimed reads of the room before a case's timed ones: the SDK's code warms up as the posts' does.
const QUERY_WARM_UPS = 5;

interface Setup {
  latencyMs: number;
  gateway: Child<typeof GatewayMethods>;
  clients: Child<typeof ClientsMethods>;
  /** The fan-out processes, one per strategy but 7 (the gateway's own). */
  fanouts: Map<StrategyId, Child<typeof FanoutMethods>>;
  /** What the clients connect to. */
  url: string;
  /** Each signing client's (4, 5) best concurrency, from the last case that tried several. */
  signingConcurrency: Map<SigningStrategy, number>;
  /** Deliveries each strategy's process has made so far, warm-ups included. */
  delivered: Map<StrategyId, number>;
}

/**
 * Deliveries a strategy's process makes before its rounds count: a warm Lambda container, with
 * warm sockets and code V8 has optimized. One broadcast is not enough for small rooms: with one
 * warm-up round of 100, the handler and the signing client alike spent 1.5-2.5x the CPU per
 * delivery of a process that had made thousands (V8 optimizes hot code as it runs). Strategies
 * whose rounds are slow stop warming up before half of --max-case-seconds would pass.
 */
const WARM_UP_DELIVERIES = 10_000;

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === "help") {
    console.log(USAGE);
    return;
  }
  const options = parsed;
  const startedAt = new Date();
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    node: process.version,
    platform: process.platform,
  };
  const setting = `${machine.cpus} x ${machine.cpuModel ?? "unknown CPU"}, Node ${machine.node}, TLS ${options.tls ? "on" : "off"}`;
  progress(
    `bench: ${setting}, N=${options.clients.join("/")}, latency ${options.latenciesMs.join("/")} ms, ` +
      `${options.rounds} rounds, strategies ${options.strategies.join(",")}`,
  );

  const load: LoadFigures[] =
    options.loadSamples > 0
      ? await measureBundles(
          HANDLER_NAMES,
          options.loadSamples,
          [process.execPath, ...options.loadNodes],
          progress,
          { label: "message before undici", entry: "message", plugins: LEGACY_PLUGINS },
        )
      : [];

  const bundleDir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-bench-"));
  const results: CaseResult[] = [];
  const queries: QueryResult[] = [];
  const rooms: RoomComparison[] = [];
  try {
    const bundlePath = await writeBundle("message", bundleDir);
    const legacyBundlePath = await writeLegacyMessageBundle(bundleDir);
    const fanoutScript = await compileProcessScript(script("fanout-process.ts"), bundleDir);
    const tls = options.tls ? await trustedCertificate(bundleDir) : undefined;
    for (const latencyMs of options.latenciesMs) {
      const setup = await startSetup(
        latencyMs,
        options,
        { bundlePath, legacyBundlePath, fanoutScript },
        tls,
      );
      try {
        for (const clients of options.clients) {
          const { cases, query } = await runCase(setup, clients, options);
          results.push(...cases);
          if (query) queries.push(query);
        }
      } finally {
        await stopSetup(setup);
      }
    }
    // The room case gets a table of its own: it starts with only the room connected.
    for (const latencyMs of options.roomCase ? options.latenciesMs : []) {
      const setup = await startSetup(
        latencyMs,
        { ...options, strategies: [1] },
        { bundlePath, legacyBundlePath, fanoutScript },
        tls,
      );
      try {
        const { url, gateway, clients } = setup;
        const handler = setup.fanouts.get(1)!;
        rooms.push(
          await compareRooms(
            { latencyMs, url, gateway, clients, handler },
            options.roomCase!,
            options.rounds,
            progress,
          ),
        );
      } finally {
        await stopSetup(setup);
      }
    }
  } finally {
    await fs.rm(bundleDir, { recursive: true, force: true });
  }

  const targets = checkTargets(results, load);
  console.log(
    `\nBroadcast figures (${setting}; medians over rounds; wall = fan-out start to last client receiving):\n`,
  );
  console.log(resultsTable(results));
  console.log(`\nRatios of strategy 1 to each other strategy:\n`);
  console.log(ratiosTable(results));
  if (queries.length) {
    console.log(
      `\nThe handler's read of the room alone (its Query's pages, ids and formats; medians over rounds):\n`,
    );
    console.log(queryTable(queries, results));
  }
  if (load.length) {
    console.log(
      `\nHandler bundles: size and module load time in a fresh Node process (median of ${options.loadSamples}):\n`,
    );
    console.log(loadTable(load));
  }
  if (rooms.length) {
    const { roomSize, total, rooms: count } = rooms[0];
    console.log(
      `\nRoom broadcast (strategy 1; a room of ${roomSize}, alone, then among ${total} clients in ${count} rooms; medians of ${options.rounds} rounds):\n`,
    );
    console.log(roomsTable(rooms));
  }
  console.log(`\nTargets (issues 4, 7 and 21; ${setting}):\n`);
  console.log(targetsText(targets));

  const jsonPath =
    options.json ??
    path.join(
      os.tmpdir(),
      `websocket-chat-bench-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`,
    );
  const report = {
    startedAt: startedAt.toISOString(),
    machine,
    options,
    broadcastConcurrency: MAX_IN_FLIGHT,
    load,
    results,
    queries,
    rooms,
    targets,
  };
  await fs.writeFile(jsonPath, JSON.stringify(report, null, 2));
  console.log(`\nJSON: ${jsonPath}`);
}

interface Tls {
  /** The gateway's key and certificate. */
  certificate: { key: string; cert: string };
  /** What every other process needs to trust it: NODE_EXTRA_CA_CERTS, read when Node starts. */
  env: { NODE_EXTRA_CA_CERTS: string };
}

/**
 * A certificate for the gateway, and its CA written to `dir` for NODE_EXTRA_CA_CERTS: the
 * handler trusts it as a user trusts a private CA, with no code path of its own.
 */
async function trustedCertificate(dir: string): Promise<Tls> {
  const { key, cert, ca } = await localCertificate();
  const caFile = path.join(dir, "local-ca.pem");
  await fs.writeFile(caFile, ca);
  return { certificate: { key, cert }, env: { NODE_EXTRA_CA_CERTS: caFile } };
}

async function startSetup(
  latencyMs: number,
  options: BenchOptions,
  {
    bundlePath,
    legacyBundlePath,
    fanoutScript,
  }: { bundlePath: string; legacyBundlePath: string; fanoutScript: string },
  tls: Tls | undefined,
): Promise<Setup> {
  progress(
    `\n[latency ${latencyMs} ms] starting the local gateway and DynamoDB (${tls ? "wss/https" : "ws/http"})`,
  );
  const gateway = Child.start<typeof GatewayMethods>("gateway", script("gateway-process.ts"), {
    env: tls?.env,
    execArgv: FANOUT_EXEC_ARGV,
  });
  const clients = Child.start<typeof ClientsMethods>("clients", script("clients-process.ts"), {
    env: tls?.env,
  });
  const fanouts = new Map<StrategyId, Child<typeof FanoutMethods>>();
  const setup: Setup = {
    latencyMs,
    gateway,
    clients,
    fanouts,
    url: "",
    signingConcurrency: new Map(),
    delivered: new Map(),
  };
  try {
    const chat = await gateway.call("start", latencyMs, tls?.certificate);
    // One sender broadcasts every round, faster than any chat user may: the per-connection
    // rate limit (on by default) would refuse rounds, and the bench measures the broadcast.
    const environment = { ...chat.environment, ...tls?.env, [ENV.rateLimitBurst]: "0" };
    // One process per strategy: each one's CPU time and heap are its own.
    for (const strategy of options.strategies.filter((s) => s !== 7)) {
      fanouts.set(
        strategy,
        Child.start<typeof FanoutMethods>(`fan-out ${strategy}`, fanoutScript, {
          env: { ...environment, ...COMPILED_ENV },
          execArgv: options.cpuProf
            ? [
                ...FANOUT_EXEC_ARGV,
                "--cpu-prof",
                `--cpu-prof-dir=${options.cpuProf}`,
                `--cpu-prof-name=fanout-${strategy}-${latencyMs}ms-${Date.now()}.cpuprofile`,
              ]
            : FANOUT_EXEC_ARGV,
          silent: true,
        }),
      );
    }
    await fanouts.get(1)?.call("loadHandler", bundlePath);
    await fanouts.get(6)?.call("loadHandler", legacyBundlePath);
    setup.url = chat.url;
    return setup;
  } catch (err) {
    await stopSetup(setup);
    throw err;
  }
}

async function stopSetup(setup: Setup): Promise<void> {
  // The clients go first; the gateway's in-memory table needs no cleanup, so its process ends
  // without running $disconnect for every client.
  await setup.clients.call("close").catch(() => {});
  await Promise.all([
    setup.clients.stop(),
    setup.gateway.stop(),
    ...[...setup.fanouts.values()].map((f) => f.stop()),
  ]);
}

async function runCase(
  setup: Setup,
  clients: number,
  options: BenchOptions,
): Promise<{ cases: CaseResult[]; query?: QueryResult }> {
  const { latencyMs, gateway } = setup;
  const label = `[latency ${latencyMs} ms, N=${clients}]`;
  progress(`${label} connecting clients (each runs the $connect Lambda)`);
  const connectMs = await setup.clients.call("connect", setup.url, clients);
  const ids = await gateway.call("connectionIds");
  if (ids.length !== clients)
    throw new Error(`${label} ${ids.length} connections open, expected ${clients}`);
  progress(`${label} ${clients} clients connected (${(connectMs / 1000).toFixed(1)} s)`);

  const plans = new Map<StrategyId, { rounds: number; skipped?: string }>();
  for (const strategy of options.strategies)
    plans.set(strategy, plan(strategy, clients, latencyMs, options));

  const runners = new Map<StrategyId, Runner>();
  for (const strategy of options.strategies) runners.set(strategy, runner(setup, strategy, ids));

  // Each signing client's ceiling is at its best concurrency, tried out on cases of up to
  // CALIBRATE_UP_TO clients; larger cases reuse the last best (trying each on 10,000 costs minutes).
  const trials = new Map<SigningStrategy, { concurrency: number; wallMs: number }[]>();
  for (const strategy of SIGNING_STRATEGIES) {
    if (!runners.has(strategy)) continue;
    if (clients > CALIBRATE_UP_TO && setup.signingConcurrency.has(strategy)) continue;
    const tried: { concurrency: number; wallMs: number }[] = [];
    for (const concurrency of SIGNING_CONCURRENCIES.filter((c, i) => i === 0 || c <= clients)) {
      const run = (payload: string) => signing(setup, strategy, ids, payload, concurrency);
      // Each concurrency has a pool of its own: one untimed round first, so that none is
      // judged on opening its sockets (TLS handshakes) while another's are warm already.
      await round(setup, clients, run, `${strategy}@${concurrency} warm-up`);
      setup.delivered.set(strategy, (setup.delivered.get(strategy) ?? 0) + clients);
      const trial = await round(setup, clients, run, `${strategy}@${concurrency}`);
      tried.push({ concurrency, wallMs: trial.wallMs });
      setup.delivered.set(strategy, (setup.delivered.get(strategy) ?? 0) + clients);
    }
    trials.set(strategy, tried);
    setup.signingConcurrency.set(
      strategy,
      tried.reduce((best, t) => (t.wallMs < best.wallMs ? t : best)).concurrency,
    );
    progress(
      `${label} signing client ${strategy}: ${tried.map((t) => `${t.concurrency} posts in flight ${t.wallMs.toFixed(0)} ms`).join(", ")}`,
    );
  }

  // Every strategy's process is warm before its rounds count (WARM_UP_DELIVERIES).
  for (const [strategy, run] of runners) {
    if (plans.get(strategy)!.skipped) continue;
    const started = Date.now();
    const budgetMs = (options.maxCaseSeconds * 1000) / 2;
    let warmUps = 0;
    let lastMs = 0;
    while (
      (setup.delivered.get(strategy) ?? 0) < WARM_UP_DELIVERIES &&
      Date.now() - started + lastMs <= budgetMs
    ) {
      const roundStarted = Date.now();
      const warmUp = await round(setup, clients, run, `warm-up ${strategy}`);
      lastMs = Date.now() - roundStarted;
      setup.delivered.set(strategy, (setup.delivered.get(strategy) ?? 0) + clients - warmUp.lost);
      warmUps++;
    }
    if (warmUps > 0) {
      progress(
        `${label} strategy ${strategy}: ${warmUps} warm-up round(s), ${setup.delivered.get(strategy)} deliveries in its process so far`,
      );
    }
  }

  // The handler's read of the room, measured alone in the undici client's process (which reads
  // no table of its own) as often as the strategies broadcast.
  const reader = setup.fanouts.get(5);
  const readRoom = reader ? () => reader.call("roomQuery", ids[0]) : undefined;
  for (let i = 0; readRoom && i < QUERY_WARM_UPS; i++) await readRoom();
  const reads: Cost[] = [];

  const rounds = new Map<StrategyId, Round[]>(options.strategies.map((s) => [s, []]));
  // Rounds go strategy by strategy in turn, so that noise from the shared machine falls on all.
  for (let r = 0; r < options.rounds; r++) {
    const line: string[] = [];
    for (const strategy of options.strategies) {
      if (r >= plans.get(strategy)!.rounds) continue;
      const result = await round(setup, clients, runners.get(strategy)!, String(strategy));
      rounds.get(strategy)!.push(result);
      setup.delivered.set(strategy, (setup.delivered.get(strategy) ?? 0) + clients);
      const trouble = [
        ...(result.lost || result.duplicated
          ? [`lost ${result.lost}, dup ${result.duplicated}`]
          : []),
        ...Object.entries(result.failures ?? {}).map(([name, count]) => `${count} x ${name}`),
      ];
      line.push(
        `${strategy}: ${result.wallMs.toFixed(0)} ms${trouble.length ? ` (${trouble.join("; ")})` : ""}`,
      );
    }
    if (readRoom) {
      const { cost, members } = await readRoom();
      if (members !== clients) throw new Error(`${label} the Query read ${members} members`);
      reads.push(cost);
      line.push(`Query: ${(cost.endedAt - cost.startedAt).toFixed(0)} ms`);
    }
    progress(`${label} round ${r + 1}/${options.rounds}  ${line.join("  ")}`);
  }

  const cases = options.strategies.map((strategy) =>
    summarize(latencyMs, clients, strategy, rounds.get(strategy)!, {
      skipped: plans.get(strategy)!.skipped,
      concurrency:
        strategy === 1
          ? MAX_IN_FLIGHT
          : strategy === 6
            ? LEGACY_IN_FLIGHT
            : strategy === 4 || strategy === 5
              ? setup.signingConcurrency.get(strategy)
              : undefined,
      trials: strategy === 4 || strategy === 5 ? trials.get(strategy) : undefined,
    }),
  );
  return { cases, query: reads.length ? summarizeQuery(latencyMs, clients, reads) : undefined };
}

/** "One at a time" takes N x (latency + overhead) per round: fewer rounds, or none, when long. */
function plan(
  strategy: StrategyId,
  clients: number,
  latencyMs: number,
  options: BenchOptions,
): { rounds: number; skipped?: string } {
  if (strategy !== 3) return { rounds: options.rounds };
  const roundSeconds = (clients * (latencyMs + ONE_AT_A_TIME_OVERHEAD_MS)) / 1000;
  if (roundSeconds > 2 * options.maxCaseSeconds) {
    return {
      rounds: 0,
      skipped: `one round would take about ${roundSeconds.toFixed(0)} s (${clients} posts x ${latencyMs + ONE_AT_A_TIME_OVERHEAD_MS} ms); over 2 x --max-case-seconds ${options.maxCaseSeconds}`,
    };
  }
  return {
    rounds: Math.max(
      1,
      Math.min(options.rounds, Math.floor(options.maxCaseSeconds / roundSeconds)),
    ),
  };
}

function runner(setup: Setup, strategy: StrategyId, ids: string[]): Runner {
  switch (strategy) {
    case 1:
      return (payload) => setup.fanouts.get(1)!.call("handler", payload, ids[0]);
    case 2:
      return (payload) => setup.fanouts.get(2)!.call("singlePageAllAtOnce", payload);
    case 3:
      return (payload) => setup.fanouts.get(3)!.call("oneAtATime", payload);
    case 4:
    case 5:
      return (payload) =>
        signing(
          setup,
          strategy,
          ids,
          payload,
          setup.signingConcurrency.get(strategy) ?? SIGNING_CONCURRENCIES[0],
        );
    case 6:
      return (payload) => setup.fanouts.get(6)!.call("handler", payload, ids[0]);
    case 7:
      return (payload) => setup.gateway.call("sendToAll", payload);
  }
}

function signing(
  setup: Setup,
  strategy: SigningStrategy,
  ids: string[],
  payload: string,
  concurrency: number,
) {
  return setup.fanouts.get(strategy)!.call(SIGNING_METHOD[strategy], ids, payload, concurrency);
}

/** One broadcast of a unique message, and what every client received of it. */
async function round(setup: Setup, clients: number, run: Runner, what: string): Promise<Round> {
  const payload = `bench ${what} ${randomUUID()}`;
  await setup.clients.call("expect", payload);
  const { cost, delivery } = await run(payload);
  // Everything is posted once the fan-out returns; only socket buffers are left to drain.
  const receipt = await setup.clients.call("settle", 5_000 + clients);
  return roundOf(cost, receipt, delivery?.failed ? delivery.failures : undefined);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
