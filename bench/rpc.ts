import { ChildProcess, fork } from "child_process";

/**
 * Request/response over a child process's IPC channel: the bench's three kinds of processes
 * (clients, gateway, fan-out) each serve a few named methods to the orchestrating process.
 */

type Methods = Record<string, (...args: never[]) => unknown>;

interface Request {
  id: number;
  method: string;
  args: unknown[];
}

interface Response {
  id: number;
  result?: unknown;
  error?: string;
}

/** Run in a child: answers the parent's calls with `methods`. */
export function serve(methods: Methods): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error("This module runs as a child process of bench/main.ts");
  const answer = async ({ id, method, args }: Request): Promise<void> => {
    const reply: Response = { id };
    try {
      const fn = methods[method] as ((...args: unknown[]) => unknown) | undefined;
      if (!fn) throw new Error(`Unknown method ${method}`);
      reply.result = await fn(...args);
    } catch (err) {
      reply.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    }
    send(reply);
  };
  process.on("message", (request: Request) => void answer(request));
  // The parent going away ends the child: no orphan processes.
  process.on("disconnect", () => process.exit(0));
}

/** A child process serving `methods` (see `serve`), typed by what it serves. */
export class Child<M extends Methods> {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve(value: unknown): void; reject(err: Error): void }
  >();
  private exited = false;

  private constructor(
    readonly name: string,
    private readonly process: ChildProcess,
  ) {
    process.on("message", ({ id, result, error }: Response) => {
      const call = this.pending.get(id);
      if (!call) return;
      this.pending.delete(id);
      if (error !== undefined) call.reject(new Error(`${name}: ${error}`));
      else call.resolve(result);
    });
    process.on("exit", (code, signal) => {
      this.exited = true;
      for (const call of this.pending.values())
        call.reject(new Error(`${name} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  /** Starts `script` (TypeScript through ts-node, or plain JavaScript) as a child process. */
  static start<M extends Methods>(
    name: string,
    script: string,
    options: { env?: NodeJS.ProcessEnv; execArgv?: string[]; silent?: boolean } = {},
  ): Child<M> {
    const typescript = script.endsWith(".ts");
    const child = fork(script, [], {
      execArgv: [
        ...(typescript ? ["-r", "ts-node/register/transpile-only"] : []),
        ...(options.execArgv ?? []),
      ],
      env: { ...process.env, ...options.env },
      // The handler logs one JSON line per broadcast; the bench's own output stays readable.
      stdio: options.silent
        ? ["ignore", "ignore", "inherit", "ipc"]
        : ["ignore", "inherit", "inherit", "ipc"],
    });
    return new Child<M>(name, child);
  }

  call<K extends keyof M & string>(
    method: K,
    ...args: Parameters<M[K]>
  ): Promise<Awaited<ReturnType<M[K]>>> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve, reject });
      this.process.send({ id, method, args } satisfies Request);
    });
  }

  /** Ends the child: asks it to exit by closing the channel, then kills it if it lingers. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.disconnect();
    const timer = setTimeout(() => this.process.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
