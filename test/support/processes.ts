import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { PROMPTLY_MS, STARTUP_MS, within } from "./within";

const ROOT = path.resolve(__dirname, "..", "..");
const TS_NODE = path.join(ROOT, "node_modules", ".bin", "ts-node");
const WSCAT = path.join(ROOT, "node_modules", ".bin", "wscat");

/**
 * A child process whose output a test can wait on, line by line as it arrives. Every wait gives
 * up after a few seconds, naming what it waited for and showing what the process printed.
 */
export class Running {
  private output = "";
  private readonly watchers: Array<() => void> = [];
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly child: ChildProcess,
    private readonly name: string,
  ) {
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const watcher of [...this.watchers]) watcher();
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.exit = new Promise((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    void this.exit.then(() => {
      for (const watcher of [...this.watchers]) watcher();
    });
  }

  /** Everything printed so far, without terminal escape sequences. */
  get text(): string {
    // eslint-disable-next-line no-control-regex
    return this.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
  }

  /** How the process ended, once it has. */
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.showingOutput(within(STARTUP_MS, `${this.name} to exit`, this.exit));
  }

  /**
   * Resolves with the first match of `pattern` in the output; rejects if the process exits
   * first, or after `ms` (a few seconds: pass STARTUP_MS for what follows a start).
   */
  waitFor(pattern: RegExp, ms = PROMPTLY_MS): Promise<RegExpMatchArray> {
    const found = new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = this.text.match(pattern);
        if (match) {
          this.watchers.splice(this.watchers.indexOf(check), 1);
          resolve(match);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.watchers.splice(this.watchers.indexOf(check), 1);
          reject(new Error(`exited before printing ${pattern}; output:\n${this.text}`));
        }
      };
      this.watchers.push(check);
      check();
    });
    return this.showingOutput(within(ms, `${this.name} to print ${pattern}`, found));
  }

  private showingOutput<T>(waiting: Promise<T>): Promise<T> {
    return waiting.catch((err: Error) => {
      err.message += `; ${this.name} printed:\n${this.text}`;
      throw err;
    });
  }

  write(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Kills the process group (the process and what it started), if still running. */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid) {
      try {
        process.kill(-this.child.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * One of the project's TypeScript entry points (`local/main.ts`), run as npm runs it (ts-node,
 * transpile only), in its own process group. `name` is how failures refer to it.
 */
export function startScript(name: string, script: string, ...args: string[]): Running {
  return new Running(
    spawn(TS_NODE, ["--transpile-only", path.join(ROOT, script), ...args], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    }),
    `${name} ${args.join(" ")}`.trim(),
  );
}

/**
 * The real wscat, under `script` so that it has the terminal it needs to print what it
 * receives; its keyboard is our pipe into script's stdin. `args` follow `-c <url>`.
 */
export function startWscat(url: string, ...args: string[]): Running {
  const command = [WSCAT, "-c", url, ...args].map(shellQuote).join(" ");
  return new Running(
    spawn("script", ["-qfc", command, "/dev/null"], {
      cwd: ROOT,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TERM: "dumb" },
    }),
    ["wscat -c", url, ...args].join(" "),
  );
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
