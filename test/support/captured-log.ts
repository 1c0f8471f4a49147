import { PROMPTLY_MS, within } from "./within";

/** One structured log entry, as the handlers write them (handlers/lib/log.ts). */
export type LogEntry = Record<string, unknown> & { event: string };

/**
 * The log lines of handlers under test, kept for the test to assert on instead of printed into
 * mocha's output. Pass `write` wherever a line sink is wanted (a LocalLambda's `log`, a local
 * chat's `functionLog`), or capture this process's console with `captureConsole()`.
 */
export class CapturedLog {
  readonly lines: string[] = [];
  private readonly watchers = new Set<() => void>();

  /** Takes one line. A method bound to its log, so that it can be handed around as a sink. */
  readonly write = (line: string): void => {
    this.lines.push(line);
    for (const watcher of [...this.watchers]) watcher();
  };

  /** The lines that are JSON objects with an `event` field, parsed. */
  get entries(): LogEntry[] {
    return this.lines.flatMap((line) => {
      try {
        const entry: unknown = JSON.parse(line);
        return isLogEntry(entry) ? [entry] : [];
      } catch {
        return [];
      }
    });
  }

  /**
   * The first entry logged for `event` whose `fields` have the given values (waiting for it if need be: a worker's output arrives
   * apart from its result), giving up after a few seconds.
   */
  entry(event: string, fields: Record<string, unknown> = {}): Promise<LogEntry> {
    const matches = (entry: LogEntry) =>
      entry.event === event &&
      Object.entries(fields).every(([name, value]) => entry[name] === value);
    const described = Object.keys(fields).length ? ` with ${JSON.stringify(fields)}` : "";
    return this.waitFor(`a "${event}" log entry${described}`, () => this.entries.find(matches));
  }

  /** The first line that matches `pattern`, waiting for it as `entry()` does. */
  line(pattern: RegExp): Promise<string> {
    return this.waitFor(`a log line matching ${pattern}`, () =>
      this.lines.find((line) => pattern.test(line)),
    );
  }

  private waitFor<T>(what: string, find: () => T | undefined): Promise<T> {
    let check = () => {};
    const found = new Promise<T>((resolve) => {
      check = () => {
        const value = find();
        if (value !== undefined) resolve(value);
      };
      this.watchers.add(check);
      check();
    });
    return within(PROMPTLY_MS, what, found)
      .catch((err: Error) => {
        err.message += `; logged:\n${this.lines.join("\n") || "(nothing)"}`;
        throw err;
      })
      .finally(() => this.watchers.delete(check));
  }
}

function isLogEntry(value: unknown): value is LogEntry {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { event?: unknown }).event === "string"
  );
}

/**
 * Captures what code running in this process writes with console.log and console.error, until
 * `restore()`. Call restore in a `finally` or an `afterEach`.
 */
export function captureConsole(): CapturedLog & { restore(): void } {
  const log = new CapturedLog();
  const original = { log: console.log, error: console.error };
  const write = (...args: unknown[]) =>
    log.write(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "));
  console.log = write;
  console.error = write;
  return Object.assign(log, {
    restore() {
      console.log = original.log;
      console.error = original.error;
    },
  });
}
