import tls from "tls";
import v8 from "v8";

/**
 * What one broadcast costs the process that runs it: CPU time (all threads), the heap it adds
 * (peak while it runs minus before), and when it started, on a clock all bench processes share.
 */
export interface Cost {
  /** Epoch ms (sub-ms precision) at the start of the broadcast. */
  startedAt: number;
  /** Epoch ms when the fan-out code returned. */
  endedAt: number;
  cpuMicros: number;
  heapAddedBytes: number;
  /** TLS connections the process opened meanwhile (each a handshake, resumed or not). */
  tlsConnections: number;
}

// Counts the TLS connections this process opens, whoever opens them (the handler's keep-alive
// pool, the SDK's, the signing client's): https agents call tls.connect for every new socket.
let tlsConnections = 0;
const tlsConnect = tls.connect;
Object.assign(tls, {
  connect: (...args: Parameters<typeof tls.connect>) => {
    tlsConnections++;
    return tlsConnect(...args);
  },
});

// Often enough to see the peak of a broadcast that lasts tens of ms, rarely enough to cost
// nothing measurable.
const HEAP_SAMPLE_MS = 2;

// The heap in use, as process.memoryUsage().heapUsed gives it but without the resident-set read
// that call also makes (8.4 against 0.5 µs on Node 24: 3-6% of a profiled broadcast's CPU went
// to the sampler, charged to whichever strategy ran).
function heapUsed(): number {
  return v8.getHeapStatistics().used_heap_size;
}

/** Epoch ms with sub-millisecond precision, comparable across processes on this machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

// After a forced collection V8 still frees memory for a moment, partly on other threads: about
// 5 ms of CPU in the next 20 ms with the handler's heap (measured), which would be charged to
// the broadcast (process.cpuUsage counts every thread) and swamp a small one. Waiting this long
// after gc() leaves well under 1 ms.
const GC_SETTLE_MS = 10;

/** Runs `broadcast` and measures it. Collects garbage first when the process has --expose-gc. */
export async function measure<T>(
  broadcast: () => Promise<T> | T,
): Promise<{ cost: Cost; result: T }> {
  if (global.gc) {
    global.gc();
    await new Promise((resolve) => setTimeout(resolve, GC_SETTLE_MS));
  }
  const heapBefore = heapUsed();
  let heapPeak = heapBefore;
  const sampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, heapUsed());
  }, HEAP_SAMPLE_MS);
  const cpuBefore = process.cpuUsage();
  const connectionsBefore = tlsConnections;
  const startedAt = now();
  try {
    const result = await broadcast();
    const endedAt = now();
    const cpu = process.cpuUsage(cpuBefore);
    heapPeak = Math.max(heapPeak, heapUsed());
    return {
      cost: {
        startedAt,
        endedAt,
        cpuMicros: cpu.user + cpu.system,
        heapAddedBytes: heapPeak - heapBefore,
        tlsConnections: tlsConnections - connectionsBefore,
      },
      result,
    };
  } finally {
    clearInterval(sampler);
  }
}
