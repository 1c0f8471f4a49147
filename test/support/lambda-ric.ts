import { ChildProcess, spawn } from "child_process";
import * as path from "path";

/**
 * One function container as Lambda's Node images run it: `node <aws-lambda-ric>/index.mjs
 * index.handler` (the open-source runtime interface client that is the bootstrap of those
 * images), with the environment Lambda sets. The client loads `$LAMBDA_TASK_ROOT/index.mjs`,
 * asks the Runtime API at AWS_LAMBDA_RUNTIME_API for events, and patches `console` to write
 * Lambda's log records to stdout. It runs on this process's Node.
 */

const RUNTIME_INTERFACE_CLIENT = require.resolve("aws-lambda-ric");

export interface LambdaContainerOptions {
  /** The directory holding the function's code (`index.mjs`). */
  taskRoot: string;
  /** `_HANDLER`. @default "index.handler" */
  handler?: string;
  /** `host:port` of the Runtime API. */
  runtimeApi: string;
  functionName: string;
  /** The function's own variables (its configuration), on top of what Lambda sets. */
  environment: Record<string, string>;
  /** Variables to leave out of `environment` (a misconfigured function). */
  unset?: string[];
}

export class LambdaContainer {
  /** What the process wrote to stdout, line by line: the runtime's log records. */
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  /** Settles with the exit code (or signal) when the process ends. */
  readonly exited: Promise<number | NodeJS.Signals>;

  private constructor(private readonly child: ChildProcess) {
    let partial = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        if (partial) this.lines.push(partial);
        resolve(code ?? signal!);
      }),
    );
  }

  static start(options: LambdaContainerOptions): LambdaContainer {
    const handler = options.handler ?? "index.handler";
    const major = process.versions.node.split(".")[0];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      LANG: "en_US.UTF-8",
      TZ: ":UTC",
      // Set by Lambda for every function (the client refuses to run without the first eight).
      _HANDLER: handler,
      LAMBDA_TASK_ROOT: options.taskRoot,
      LAMBDA_RUNTIME_DIR: path.dirname(RUNTIME_INTERFACE_CLIENT),
      AWS_LAMBDA_RUNTIME_API: options.runtimeApi,
      AWS_LAMBDA_FUNCTION_NAME: options.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${major}.x`,
      ...options.environment,
    };
    for (const name of options.unset ?? []) delete env[name];
    const child = spawn(process.execPath, [RUNTIME_INTERFACE_CLIENT, handler], {
      cwd: options.taskRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env,
    });
    return new LambdaContainer(child);
  }

  /** The log records that are JSON objects (Lambda's JSON log format), in order. */
  jsonRecords(): Record<string, unknown>[] {
    const records: Record<string, unknown>[] = [];
    for (const line of this.lines) {
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === "object" && value !== null)
          records.push(value as Record<string, unknown>);
      } catch {
        // not a record of the JSON format
      }
    }
    return records;
  }

  /** Ends the container (Lambda freezes and later discards it; nothing is left to flush). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}
