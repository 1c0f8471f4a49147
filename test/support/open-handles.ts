// Loaded by mocha before every test file (.mocharc.json) as a root hook plugin.
//
// A test that leaves a server, socket, timer, worker or child process behind keeps mocha's
// process alive after the run (mocha does not force an exit). Rather than hang CI until its
// timeout, this names what is still open a few seconds after the last test, and fails the run.

// Long enough for closes already under way (worker threads, child processes) to finish.
const GRACE_MS = 5_000;

interface ProcessInternals {
  _getActiveHandles(): unknown[];
}

function describeHandle(handle: unknown): string {
  const name = (handle as object)?.constructor?.name ?? typeof handle;
  if (name === "Socket" || name === "TLSSocket") {
    const socket = handle as { localPort?: number; remotePort?: number; _type?: string };
    if (socket.remotePort) return `${name} :${socket.localPort} -> :${socket.remotePort}`;
  }
  if (name === "Server") {
    const address = (handle as { address(): unknown }).address();
    return `Server ${JSON.stringify(address)}`;
  }
  if (name === "ChildProcess") return `ChildProcess ${(handle as { pid?: number }).pid}`;
  return name;
}

export const mochaHooks = {
  afterAll(): void {
    setTimeout(() => {
      // This process's own stdio streams are handles too, and stay open by design.
      const stdio = new Set<unknown>([process.stdin, process.stdout, process.stderr]);
      const open = (process as unknown as ProcessInternals)
        ._getActiveHandles()
        .filter((handle) => !stdio.has(handle))
        .map(describeHandle);
      process.stderr.write(
        `\nStill open ${GRACE_MS / 1000} s after the last test (a test did not close it):\n` +
          `  ${open.join("\n  ") || "(no handles)"}\n` +
          `  resources: ${process.getActiveResourcesInfo().join(", ")}\n`,
      );
      // Mocha sets the exit code to its failure count as the process exits; this comes after.
      process.on("exit", () => (process.exitCode = 1));
      process.exit(1);
    }, GRACE_MS).unref();
  },
};
