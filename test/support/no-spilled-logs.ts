// Loaded by mocha before every test file (.mocharc.json) as a root hook plugin.
//
// Handler logs belong to the tests that capture and assert them (test/support/captured-log.ts),
// never to mocha's output, where they read as noise or as failures. This watches what reaches
// this process's stdout and stderr (a worker thread's output with no log sink arrives here too)
// and fails the run, naming the tests, when a handler's log entry shows up.

const HANDLER_LOG_ENTRY = /^\{"event":"|^\{ event: '/m;
const spilled: string[] = [];
let running = "(before the first test)";

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = (chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (HANDLER_LOG_ENTRY.test(text)) spilled.push(`${running}:\n    ${text.trim()}`);
    return write(chunk, ...rest);
  };
}

export const mochaHooks = {
  beforeEach(this: Mocha.Context): void {
    running = this.currentTest?.fullTitle() ?? running;
  },
  afterAll(): void {
    if (spilled.length === 0) return;
    throw new Error(
      `handler logs reached mocha's output; capture them (test/support/captured-log.ts). ` +
        `During (or just after) these tests:\n  ${spilled.join("\n  ")}`,
    );
  },
};
