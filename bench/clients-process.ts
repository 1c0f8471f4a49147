import WebSocket from "ws";
import { now } from "./measure";
import { serve } from "./rpc";

/**
 * The receiving side: N WebSocket clients of the local gateway in one process. For each round it
 * counts, per client, how often that round's unique message arrived, so that lost and
 * duplicated deliveries show, and when the last one arrived.
 */

// Handshakes in flight at once while connecting (each runs the $connect Lambda).
const CONNECT_CONCURRENCY = 64;
// After every client has its message, duplicates get this long to show up.
const DUPLICATE_WINDOW_MS = 100;

export interface Receipt {
  clients: number;
  received: number;
  lost: number;
  duplicated: number;
  /** Frames that were not this round's message (e.g. late ones from an earlier round). */
  stray: number;
  /** Clients that got this round's message though they were not meant to (another room's). */
  leaked: number;
  /** Epoch ms of the last first-receipt, or undefined when nothing arrived. */
  lastAt?: number;
}

const sockets: WebSocket[] = [];
let token = "";
let counts = new Uint16Array(0);
let received = 0;
let stray = 0;
let leaked = 0;
// The clients meant to receive this round's message: the first `receivers` opened.
let receivers = 0;
let lastAt: number | undefined;
let allReceived: (() => void) | undefined;

function onMessage(index: number, data: WebSocket.RawData): void {
  if (Buffer.isBuffer(data) ? data.toString() !== token : true) {
    stray++;
    return;
  }
  if (index >= receivers) {
    leaked++;
    return;
  }
  if (counts[index]++ === 0) {
    received++;
    lastAt = now();
    if (received === receivers) allReceived?.();
  }
}

function open(url: string, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once("open", () => {
      socket.off("error", reject);
      socket.on("message", (data) => onMessage(index, data));
      sockets[index] = socket;
      resolve();
    });
    socket.once("error", reject);
  });
}

export const methods = {
  /**
   * Opens connections until `total` are open, each to `url` with `query` (e.g. `?room=r1`);
   * returns how long that took (ms).
   */
  async connect(url: string, total: number, query = ""): Promise<number> {
    const started = now();
    let next = sockets.length;
    const worker = async () => {
      while (next < total) await open(`${url}${query}`, next++);
    };
    await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
    return now() - started;
  },

  /**
   * Arms the counters for a round whose message is `message`, meant for the first `only`
   * clients opened (all of them by default); any other client that gets it counts as leaked.
   */
  expect(message: string, only?: number): void {
    token = message;
    receivers = only ?? sockets.length;
    counts = new Uint16Array(receivers);
    received = 0;
    stray = 0;
    leaked = 0;
    lastAt = undefined;
  },

  /** Waits for every client to have the round's message, or `timeoutMs`, and reports. */
  async settle(timeoutMs: number): Promise<Receipt> {
    if (received < counts.length) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        allReceived = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      allReceived = undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, DUPLICATE_WINDOW_MS));
    let duplicated = 0;
    for (const count of counts) if (count > 1) duplicated += count - 1;
    return {
      clients: counts.length,
      received,
      lost: counts.length - received,
      duplicated,
      stray,
      leaked,
      lastAt,
    };
  },

  async close(): Promise<void> {
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once("close", () => resolve());
            socket.terminate();
          }),
      ),
    );
    sockets.length = 0;
  },
};

serve(methods);
