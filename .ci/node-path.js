/* global __dirname */
// Prints the PATH that an npm script goes on with. Where the running Node is 22 or later, that is
// PATH as it is. Where it is older, it gets Node 24 from the npm registry with .ci/node (once,
// into a cache), says so in one line, and prints PATH with that Node's directory first, so that
// the rest of the script (ts-node, tsc, mocha and whatever they start) runs on it. Where that is
// impossible, it says in one line what to install and exits 1. package.json's scripts start with
//   PATH=$(node .ci/node-path.js) && ...
// (an assignment's exit status is its command substitution's: `&&` stops the script on exit 1).
// Plain CommonJS with no newer syntax, so that any old Node can run it far enough to say this.
"use strict";
const childProcess = require("child_process");
const path = require("path");

/** The oldest Node the chat runs on (local mode needs node:module's registerHooks). */
const MINIMUM_MAJOR = 22;
/** What .ci/node fetches: the Node that Lambda runs by default and CI tests on. */
const FETCHED_MAJOR = 24;
const GET_NODE = `export PATH="$(.ci/node ${FETCHED_MAJOR}):$PATH"`;

/** How a user typed the script: `npm start`, `npm test`, `npm run page`. */
function scriptName(lifecycleEvent) {
  if (!lifecycleEvent) return "this command";
  return lifecycleEvent === "start" || lifecycleEvent === "test"
    ? `npm ${lifecycleEvent}`
    : `npm run ${lifecycleEvent}`;
}

/**
 * What to do on Node `running` (process.versions.node) on `platform`/`arch`: run as is, fetch
 * Node 24 and run on it (.ci/node has official binaries for Linux x64 and arm64), or stop.
 */
function decide(running, platform, arch, command) {
  const major = Number(String(running).split(".")[0]);
  if (major >= MINIMUM_MAJOR) return { action: "run" };
  if (platform === "linux" && (arch === "x64" || arch === "arm64")) {
    return {
      action: "fetch",
      major: FETCHED_MAJOR,
      line:
        `${command}: Node ${running} is older than ${MINIMUM_MAJOR}; running on Node ` +
        `${FETCHED_MAJOR} from the npm registry instead (.ci/node ${FETCHED_MAJOR}: fetched ` +
        `once, then cached).`,
    };
  }
  return {
    action: "stop",
    line:
      `${command} needs Node ${MINIMUM_MAJOR} or later, and this is Node ${running} on ` +
      `${platform} ${arch}: install Node ${FETCHED_MAJOR} (nvm install ${FETCHED_MAJOR}) ` +
      `and run ${command} again.`,
  };
}

/** What npm said went wrong, in a few words, from .ci/node's error output. */
function fetchError(stderr) {
  const lines = String(stderr).split("\n");
  const fetch = lines.find((line) => /FetchError: /.test(line));
  if (fetch) return fetch.replace(/^.*FetchError: /, "");
  const code = lines.find((line) => /^npm error code /.test(line));
  if (code) return code.replace(/^npm error code /, "");
  const first = lines.find((line) => line.trim() !== "");
  return first ? first.trim() : "no reason given";
}

/** The one line when fetching failed (no npm registry, say). */
function fetchFailed(running, command, reason) {
  return (
    `${command} needs Node ${MINIMUM_MAJOR} or later, and this is Node ${running}; getting ` +
    `Node ${FETCHED_MAJOR} from the npm registry failed (${reason}): run ${GET_NODE} when the ` +
    `registry is reachable, or install Node ${FETCHED_MAJOR} (nvm install ${FETCHED_MAJOR}).`
  );
}

function main() {
  const running = process.versions.node;
  const command = scriptName(process.env.npm_lifecycle_event);
  const currentPath = process.env.PATH || "";
  const decision = decide(running, process.platform, process.arch, command);
  if (decision.action === "run") {
    process.stdout.write(currentPath);
    return;
  }
  console.error(decision.line);
  if (decision.action === "stop") process.exit(1);
  const fetched = childProcess.spawnSync(path.join(__dirname, "node"), [String(decision.major)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (fetched.status !== 0) {
    const reason = fetched.error ? fetched.error.message : fetchError(fetched.stderr);
    console.error(fetchFailed(running, command, reason));
    process.exit(1);
  }
  process.stdout.write(fetched.stdout.trim() + path.delimiter + currentPath);
}

module.exports = { decide, fetchError, fetchFailed, scriptName, MINIMUM_MAJOR, FETCHED_MAJOR };

if (require.main === module) main();
