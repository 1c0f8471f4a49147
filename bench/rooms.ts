import { randomUUID } from "crypto";
import type { methods as ClientsMethods } from "./clients-process";
import type { methods as FanoutMethods } from "./fanout-process";
import type { methods as GatewayMethods } from "./gateway-process";
import { CaseResult, Round, roundOf, summarize } from "./report";
import { Child } from "./rpc";
import { median } from "./stats";

/**
 * What a room costs to broadcast to when the chat around it is large: this project's handler
 * sends to a room of `total / rooms` clients, first while the table holds only that room (a
 * small one-room chat, as before rooms), then after `total - total / rooms` more clients have
 * joined the other rooms. The same clients receive, the same sender sends, the same process
 * runs the handler; only the rest of the table differs, so the ratio of the two is what the
 * rest of the chat costs a room (a Scan-based broadcast would read all of it).
 */

const WARM_UP_ROUNDS = 10;

export interface RoomCase {
  /** Connections in the whole chat. */
  total: number;
  /** Rooms they are spread over, evenly; the broadcast goes to one of them. */
  rooms: number;
}

/** The processes of one setup that the room case uses: strategy 1's fan-out only. */
export interface RoomSetup {
  latencyMs: number;
  url: string;
  gateway: Child<typeof GatewayMethods>;
  clients: Child<typeof ClientsMethods>;
  handler: Child<typeof FanoutMethods>;
}

export interface RoomComparison {
  latencyMs: number;
  total: number;
  rooms: number;
  roomSize: number;
  /** The room's broadcast while the table holds only that room. */
  alone: CaseResult;
  /** The same broadcast with `total` connections in `rooms` rooms. */
  among: CaseResult;
  /** Deliveries to clients outside the room (must be 0), over every round. */
  leaked: number;
  /** `among` over `alone`: near 1 when a broadcast costs what its room holds. */
  wallRatio: number;
  cpuRatio: number;
}

/** Parses `--room-case TOTAL/ROOMS`; "0" turns the case off. */
export function parseRoomCase(value: string): RoomCase | undefined {
  if (value.trim() === "0") return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const [total, rooms] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(rooms >= 2 && total >= rooms && total % rooms === 0)) {
    throw new Error(
      `--room-case takes TOTAL/ROOMS with at least 2 rooms and TOTAL a multiple of ROOMS, got "${value}"`,
    );
  }
  return { total, rooms };
}

export async function compareRooms(
  setup: RoomSetup,
  { total, rooms }: RoomCase,
  roundsPerPhase: number,
  progress: (line: string) => void,
): Promise<RoomComparison> {
  const roomSize = total / rooms;
  const label = `[latency ${setup.latencyMs} ms, rooms]`;
  let leaked = 0;

  await setup.clients.call("connect", setup.url, roomSize, "?room=r0");
  // The first connection made is in r0: it sends every round.
  const [sender] = await setup.gateway.call("connectionIds");
  const phase = async (what: string): Promise<Round[]> => {
    // A warm container, warm sockets and code V8 has optimized, as in the other cases: more
    // than one round, since a room's broadcast is short and the first ones run slower (with 3,
    // the first phase still measured 1.3x to 1.7x slower than the second).
    for (let w = 0; w < WARM_UP_ROUNDS; w++) await round();
    const rounds: Round[] = [];
    for (let r = 0; r < roundsPerPhase; r++) rounds.push(await round());
    progress(
      `${label} ${what}: wall ${rounds.map((r) => r.wallMs.toFixed(0)).join(", ")} ms (median ${median(rounds.map((r) => r.wallMs)).toFixed(0)})`,
    );
    return rounds;
  };
  const round = async (): Promise<Round> => {
    const payload = `bench room ${randomUUID()}`;
    await setup.clients.call("expect", payload, roomSize);
    const { cost } = await setup.handler.call("handler", payload, sender);
    const receipt = await setup.clients.call("settle", 5_000 + roomSize);
    leaked += receipt.leaked;
    return roundOf(cost, receipt);
  };

  const alone = await phase(`${roomSize} clients, all in one room`);
  progress(`${label} connecting ${total - roomSize} more clients into ${rooms - 1} other rooms`);
  for (let room = 1; room < rooms; room++) {
    await setup.clients.call("connect", setup.url, roomSize * (room + 1), `?room=r${room}`);
  }
  const open = (await setup.gateway.call("connectionIds")).length;
  if (open !== total) throw new Error(`${label} ${open} connections open, expected ${total}`);
  const among = await phase(`the same room among ${total} clients in ${rooms} rooms`);

  const aloneResult = summarize(setup.latencyMs, roomSize, 1, alone);
  const amongResult = summarize(setup.latencyMs, roomSize, 1, among);
  return {
    latencyMs: setup.latencyMs,
    total,
    rooms,
    roomSize,
    alone: aloneResult,
    among: amongResult,
    leaked,
    wallRatio: amongResult.wallMedianMs / aloneResult.wallMedianMs,
    cpuRatio: amongResult.cpuMicrosPerDelivery / aloneResult.cpuMicrosPerDelivery,
  };
}

export function roomsTable(comparisons: RoomComparison[]): string {
  const header = [
    "latency",
    "the table holds",
    "rounds",
    "wall med ms",
    "fan-out med ms",
    "CPU µs/delivery",
    "TLS conns",
    "lost",
    "dup",
  ];
  const rows: string[][] = [];
  for (const c of comparisons) {
    for (const [what, result] of [
      [`${c.roomSize} in 1 room`, c.alone],
      [`${c.total} in ${c.rooms} rooms`, c.among],
    ] as const) {
      rows.push([
        `${c.latencyMs} ms`,
        what,
        String(result.rounds.length),
        result.wallMedianMs.toFixed(1),
        median(result.rounds.map((r) => r.fanoutMs)).toFixed(1),
        result.cpuMicrosPerDelivery.toFixed(1),
        result.tlsConnectionsMedian.toFixed(0),
        String(result.lost),
        String(result.duplicated),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  const ratios = comparisons.map(
    (c) =>
      `  ${c.latencyMs} ms: ${c.total} in ${c.rooms} rooms / ${c.roomSize} in 1 room: wall x${c.wallRatio.toFixed(2)}, CPU per delivery x${c.cpuRatio.toFixed(2)}; ${c.leaked} deliveries outside the room`,
  );
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
    "",
    ...ratios,
  ].join("\n");
}
