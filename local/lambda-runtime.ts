import { randomUUID } from "crypto";
import * as fs from "fs/promises";
import * as path from "path";
import * as readline from "readline";
import { pathToFileURL } from "url";
import { ResourceLimits, Worker } from "worker_threads";
import { BUNDLE_FILE_NAME, bundleHandler } from "../handlers/bundle";
import { FunctionName } from "../handlers/routes";

const WORKER_SCRIPT = path.join(__dirname, "lambda-worker.mjs");

/** Writes the deployable bundle of `handler` to `dir/<handler>/index.mjs` and returns its path. */
export async function writeBundle(handler: FunctionName, dir: string): Promise<string> {
  const file = path.join(dir, handler, BUNDLE_FILE_NAME);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, await bundleHandler(handler));
  return file;
}

/**
 * Concurrent invocations per function unless told otherwise. Each is a worker thread of
 * 25-50 MB; more of them than this machine has cores (two, say) rarely run any faster.
 */
export const DEFAULT_CONCURRENCY = 2;
/** A warm execution environment left idle this long is stopped, as Lambda reclaims idle ones. */
export const DEFAULT_IDLE_MS = 60_000;
/**
 * How long an invocation waits for a free environment before it is throttled: a third of API
 * Gateway's 29 s, so that one that starts has the time to finish before API Gateway stops
 * waiting for it (a message is then either delivered, or refused and not delivered).
 */
export const DEFAULT_MAX_WAIT_MS = 10_000;
// Invocations that may wait at once; past this the function is throttled at once.
const MAX_WAITING = 1_000;

export interface LocalLambdaOptions {
  /** The bundle to run (see `writeBundle`). Read once at start: it may be deleted afterwards. */
  bundlePath: string;
  functionName: string;
  /** The function's environment; from this process only PATH, LANG and TZ come along. */
  environment: Record<string, string>;
  /** The Lambda timeout: an invocation still running after this long is stopped. */
  timeoutMs: number;
  /**
   * The function's memory size: its heap gets the limit Lambda's Node runtime gives it, so that
   * a handler that needs more fails here as there. @default no limit of its own
   */
  memoryMb?: number;
  /**
   * Receives each line the function writes to stdout or stderr: what Lambda would send to
   * CloudWatch Logs. @default this process's stdout and stderr
   */
  log?: (line: string) => void;
  /** Invocations that run at once, each in its own execution environment. @default 2 */
  concurrency?: number;
  /** An execution environment idle this long is stopped. @default 60 s */
  idleMs?: number;
  /** An invocation that has waited this long for a free environment is throttled. @default 10 s */
  maxWaitMs?: number;
}

// What a function sees besides its own variables. Nothing else from this process leaks in, so
// a handler that depends on a developer's shell (AWS_PROFILE, a stray endpoint override) fails
// locally as it would on AWS.
const INHERITED_VARIABLES = ["PATH", "LANG", "TZ"];

function functionEnvironment(options: LocalLambdaOptions): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) environment[name] = value;
  }
  // Lambda sets these for every function.
  environment.AWS_LAMBDA_FUNCTION_NAME = options.functionName;
  if (options.memoryMb !== undefined)
    environment.AWS_LAMBDA_FUNCTION_MEMORY_SIZE = String(options.memoryMb);
  return { ...environment, ...options.environment };
}

/** Lambda's answer to an invocation over the function's concurrency. */
function throttled(why: string): Error {
  return lambdaError("TooManyRequestsException", `Rate Exceeded. (${why})`);
}

/** An invocation error as Lambda reports it: a name and a message. */
function lambdaError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

interface Invocation {
  event: unknown;
  /** When it was asked for: its time runs from here, waiting included (see LocalLambda). */
  invokedAt: number;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** What the pool hears from an environment. */
interface EnvironmentEvents {
  /** Its invocation has settled: it can take another. */
  free(environment: ExecutionEnvironment): void;
  /** It was stopped or died: it takes no more invocations. */
  gone(environment: ExecutionEnvironment): void;
}

interface WorkerMessage {
  ready?: boolean;
  id?: string;
  result?: unknown;
  error?: { name: string; message: string };
}

/**
 * One execution environment: a worker thread (its own isolate, module state and environment)
 * that has loaded the bundle and runs one invocation at a time.
 */
class ExecutionEnvironment {
  private current?: { id: string; invocation: Invocation; timer: NodeJS.Timeout };
  private idleTimer?: NodeJS.Timeout;
  /** Set once the worker is stopped or has died: it takes no more invocations. */
  dead = false;

  private constructor(
    private readonly worker: Worker,
    private readonly events: EnvironmentEvents,
  ) {
    worker.on("message", (message: WorkerMessage) => this.settle(message));
    worker.on("error", (err: Error) => this.die(lambdaError("Runtime.ExitError", err.message)));
    worker.on("exit", (code) =>
      this.die(lambdaError("Runtime.ExitError", `the runtime exited with code ${code}`)),
    );
  }

  /** Starts a worker and resolves once the bundle has loaded (Lambda's init phase). */
  static async start(
    options: LocalLambdaOptions,
    source: string,
    events: EnvironmentEvents,
  ): Promise<ExecutionEnvironment> {
    const worker = new Worker(WORKER_SCRIPT, {
      workerData: {
        source,
        bundleUrl: pathToFileURL(options.bundlePath).href,
        functionName: options.functionName,
      },
      env: functionEnvironment(options),
      // None of this process's Node flags (a TypeScript loader, say): a function gets its own.
      execArgv: [],
      resourceLimits: heapLimits(options.memoryMb),
      // Without a log sink, the worker's output goes straight to this process's.
      stdout: options.log !== undefined,
      stderr: options.log !== undefined,
    });
    if (options.log) {
      for (const output of [worker.stdout, worker.stderr])
        readline.createInterface({ input: output, crlfDelay: Infinity }).on("line", options.log);
    }
    let onMessage!: (message: WorkerMessage) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    try {
      await new Promise<void>((resolve, reject) => {
        onMessage = (message) =>
          message.ready ? resolve() : reject(new Error("unexpected message during init"));
        onError = reject;
        onExit = (code) => reject(new Error(`the runtime exited with code ${code}`));
        worker.once("message", onMessage).once("error", onError).once("exit", onExit);
      });
    } catch (err) {
      await worker.terminate();
      throw lambdaError(
        "Runtime.ImportModuleError",
        `${options.functionName}: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
    }
    return new ExecutionEnvironment(worker, events);
  }

  /**
   * Runs one invocation; the worker is stopped if it is still running `timeoutMs` after the
   * invocation was asked for (the time it waited for this environment counts).
   */
  run(invocation: Invocation, timeoutMs: number): void {
    clearTimeout(this.idleTimer);
    const id = randomUUID();
    const deadline = invocation.invokedAt + timeoutMs;
    const timer = setTimeout(
      () => {
        // Lambda stops the environment of a timed-out invocation: its in-flight work dies with it.
        this.die(lambdaError("TimeoutError", `Task timed out after ${formatSeconds(timeoutMs)}`));
      },
      Math.max(0, deadline - Date.now()),
    );
    this.current = { id, invocation, timer };
    this.worker.postMessage({ id, event: invocation.event, deadline });
  }

  /** Marks the environment idle: it is stopped if nothing uses it within `idleMs`. */
  park(idleMs: number): void {
    this.idleTimer = setTimeout(() => void this.stop(), idleMs);
    this.idleTimer.unref();
  }

  stop(): Promise<void> {
    this.die(lambdaError("Runtime.ExitError", "the function was shut down"));
    return this.worker.terminate().then(() => undefined);
  }

  private settle(message: WorkerMessage): void {
    const current = this.current;
    if (!current || message.id !== current.id) return;
    this.current = undefined;
    clearTimeout(current.timer);
    if (message.error) {
      current.invocation.reject(lambdaError(message.error.name, message.error.message));
    } else {
      current.invocation.resolve(message.result);
    }
    this.events.free(this);
  }

  private die(error: Error): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.idleTimer);
    const current = this.current;
    this.current = undefined;
    if (current) {
      clearTimeout(current.timer);
      current.invocation.reject(error);
    }
    void this.worker.terminate();
    this.events.gone(this);
  }
}

/**
 * The heap Lambda's Node runtime gives a function of `memoryMb`: a tenth for the young
 * generation, the rest for the old one (its bootstrap passes --max-semi-space-size and
 * --max-old-space-size so). The old generation is exactly Lambda's, so that a handler that
 * runs out of it there runs out of it here; the young generation is capped at 16 MB: it is memory
 * this machine holds per environment, busy or not, and 16 MB measured 20 % less memory under
 * `npm run soak` at the same throughput.
 */
function heapLimits(memoryMb: number | undefined): ResourceLimits | undefined {
  if (memoryMb === undefined) return undefined;
  const tenth = Math.floor(memoryMb / 10);
  return {
    maxYoungGenerationSizeMb: Math.min(16, tenth),
    maxOldGenerationSizeMb: memoryMb - tenth,
  };
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} seconds`;
}

/**
 * One Lambda function run locally, with Lambda's concurrency model: each concurrent invocation
 * runs in an execution environment of its own (a worker thread, with its own isolate, module
 * state and environment variables), created on demand up to `concurrency`, reused while warm
 * and stopped after `idleMs` idle. An invocation that reaches the timeout is stopped with its
 * environment, as Lambda stops it; the next one gets a fresh environment (a cold start).
 *
 * Over `concurrency`, invocations wait for an environment to come free, in order: the local
 * limit stands for this machine's capacity, not a reserved concurrency, and a deployed function
 * (no reserved concurrency) would have scaled out instead. One that has waited `maxWaitMs`, or
 * finds 1,000 waiting, is throttled with Lambda's `TooManyRequestsException`, as a function at
 * its reserved concurrency is; API Gateway reports that as an error, and the function never runs.
 * The time an invocation waited counts against its timeout (and `getRemainingTimeInMillis`):
 * on AWS nothing waits, so a function whose timeout fits API Gateway's 29 s always ends before
 * API Gateway stops waiting for it, and locally it must too.
 */
export class LocalLambda {
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly waiting: Array<Invocation & { timer: NodeJS.Timeout }> = [];
  private readonly all = new Set<ExecutionEnvironment>();
  private starting = 0;
  /** Cold starts under way: close() waits for them. */
  private readonly startups = new Set<Promise<void>>();
  private closed = false;
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly maxWaitMs: number;

  private constructor(
    private readonly options: LocalLambdaOptions,
    private readonly source: string,
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new Error(`concurrency must be a whole number from 1, got ${this.concurrency}`);
    }
  }

  /**
   * Reads the bundle and loads it once in an environment it then stops, so that a bundle that
   * cannot load fails here. None is kept: like Lambda, a function has no environment before its
   * first invocation (a cold start), and an idle `npm start` holds none (each is 25-50 MB).
   */
  static async start(options: LocalLambdaOptions): Promise<LocalLambda> {
    const lambda = new LocalLambda(options, await fs.readFile(options.bundlePath, "utf8"));
    const environment = await lambda.startEnvironment();
    await environment.stop();
    return lambda;
  }

  /** How long an invocation may run before it is stopped. */
  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** Execution environments alive now, busy or idle. */
  get environments(): number {
    return this.all.size;
  }

  /** Runs the handler on `event`; rejects when it throws, times out or is throttled. */
  invoke<TResult = unknown>(event: unknown): Promise<TResult> {
    return new Promise<TResult>((resolve, reject) => {
      const invocation: Invocation = { event, invokedAt: Date.now(), resolve, reject };
      if (this.closed) return reject(lambdaError("Runtime.ExitError", "the function is closed"));
      const environment = this.idle.pop();
      if (environment) return environment.run(invocation, this.options.timeoutMs);
      if (this.waiting.length >= MAX_WAITING) {
        return reject(throttled(`${MAX_WAITING} invocations are waiting already`));
      }
      const timer = setTimeout(() => {
        const at = this.waiting.findIndex((waiting) => waiting.timer === timer);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(throttled(`no execution environment came free in ${formatSeconds(this.maxWaitMs)}`));
      }, this.maxWaitMs);
      this.waiting.push({ ...invocation, timer });
      this.scaleOut();
    });
  }

  /** Stops every environment; invocations still running or waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (let next = this.nextWaiting(); next; next = this.nextWaiting()) {
      next.reject(lambdaError("Runtime.ExitError", "the function was shut down"));
    }
    this.idle.length = 0;
    // Environments still starting are stopped with the rest once they are up.
    await Promise.all(this.startups);
    await Promise.all([...this.all].map((environment) => environment.stop()));
  }

  /** Starts environments for waiting invocations, within the concurrency. */
  private scaleOut(): void {
    while (
      this.starting < this.waiting.length &&
      this.all.size + this.starting < this.concurrency
    ) {
      this.starting++;
      const started = this.startEnvironment().then(
        (environment) => {
          this.starting--;
          this.release(environment);
        },
        (err: Error) => {
          this.starting--;
          // Lambda fails the invocation whose cold start failed; the next one tries again.
          this.nextWaiting()?.reject(err);
          if (!this.closed) this.scaleOut();
        },
      );
      this.startups.add(started);
      void started.finally(() => this.startups.delete(started));
    }
  }

  private async startEnvironment(): Promise<ExecutionEnvironment> {
    const environment = await ExecutionEnvironment.start(this.options, this.source, {
      free: (free) => this.release(free),
      gone: (gone) => {
        this.all.delete(gone);
        const at = this.idle.indexOf(gone);
        if (at >= 0) this.idle.splice(at, 1);
        if (!this.closed) this.scaleOut(); // a replacement for anyone still waiting
      },
    });
    this.all.add(environment);
    return environment;
  }

  /** Takes the invocation that has waited longest off the queue. */
  private nextWaiting(): Invocation | undefined {
    const next = this.waiting.shift();
    clearTimeout(next?.timer);
    return next;
  }

  /** An environment is free: the next waiting invocation takes it, else it idles (warm). */
  private release(environment: ExecutionEnvironment): void {
    // After close(), close() itself stops every environment, those that were starting included.
    if (environment.dead || this.closed) return;
    const next = this.nextWaiting();
    if (next) return environment.run(next, this.options.timeoutMs);
    // Most recently used first: the rest stay idle long enough to be stopped.
    this.idle.push(environment);
    environment.park(this.idleMs);
  }
}
