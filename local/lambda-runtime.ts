import * as fs from "fs/promises";
import * as path from "path";
import * as readline from "readline";
import { Worker } from "worker_threads";
import { BUNDLE_FILE_NAME, bundleHandler } from "../handlers/bundle";
import { HandlerName } from "../handlers/routes";

const WORKER_SCRIPT = path.join(__dirname, "lambda-worker.mjs");

/** Writes the deployable bundle of `handler` to `dir/<handler>/index.mjs` and returns its path. */
export async function writeBundle(handler: HandlerName, dir: string): Promise<string> {
  const file = path.join(dir, handler, BUNDLE_FILE_NAME);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, await bundleHandler(handler));
  return file;
}

export interface LocalLambdaOptions {
  /** The bundle to run (see `writeBundle`). */
  bundlePath: string;
  functionName: string;
  /** The function's environment; from this process only PATH, LANG and TZ come along. */
  environment: Record<string, string>;
  /** Like the Lambda timeout: an invocation running longer fails. */
  timeoutMs: number;
  /**
   * Receives each line the function writes to stdout or stderr: what Lambda would send to
   * CloudWatch Logs. @default this process's stdout and stderr
   */
  log?: (line: string) => void;
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
  // Lambda sets this for every function.
  environment.AWS_LAMBDA_FUNCTION_NAME = options.functionName;
  return { ...environment, ...options.environment };
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One Lambda function run locally: its bundle in a worker thread of its own, so that it has its
 * own environment and module state, as a Lambda container does. Invocations may overlap.
 */
export class LocalLambda {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly worker: Worker,
    private readonly options: LocalLambdaOptions,
  ) {
    worker.on(
      "message",
      (message: { id: number; result?: unknown; error?: { name: string; message: string } }) => {
        const call = this.pending.get(message.id);
        if (!call) return;
        this.pending.delete(message.id);
        clearTimeout(call.timer);
        if (message.error)
          call.reject(
            Object.assign(new Error(message.error.message), { name: message.error.name }),
          );
        else call.resolve(message.result);
      },
    );
    worker.on("error", (err: Error) => this.failAll(err));
    worker.on("exit", (code) =>
      this.failAll(new Error(`${options.functionName} exited with code ${code}`)),
    );
  }

  /** How long an invocation may run before it is stopped. */
  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  static async start(options: LocalLambdaOptions): Promise<LocalLambda> {
    const worker = new Worker(WORKER_SCRIPT, {
      workerData: {
        bundlePath: options.bundlePath,
        functionName: options.functionName,
        timeoutMs: options.timeoutMs,
      },
      env: functionEnvironment(options),
      // Without a log sink, the worker's output goes straight to this process's.
      stdout: options.log !== undefined,
      stderr: options.log !== undefined,
    });
    if (options.log) {
      for (const output of [worker.stdout, worker.stderr])
        readline.createInterface({ input: output, crlfDelay: Infinity }).on("line", options.log);
    }
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: boolean }) => {
        if (message.ready) {
          worker.off("error", reject);
          resolve();
        }
      };
      worker.once("message", onMessage);
      worker.once("error", reject);
    });
    return new LocalLambda(worker, options);
  }

  /** Runs the handler on `event`; rejects when it throws or runs past its timeout. */
  invoke<TResult = unknown>(event: unknown): Promise<TResult> {
    const id = this.nextId++;
    return new Promise<TResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          Object.assign(new Error(`Task timed out after ${this.options.timeoutMs} ms`), {
            name: "TimeoutError",
          }),
        );
      }, this.options.timeoutMs);
      this.pending.set(id, { resolve: resolve, reject, timer });
      this.worker.postMessage({ id, event });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(error);
      this.pending.delete(id);
    }
  }
}
