import { execFile } from "child_process";
import * as esbuild from "esbuild";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { promisify } from "util";
import { HANDLERS_DIR } from "../handlers/bundle";
import { HandlerName } from "../handlers/routes";
import { writeBundle } from "../local/lambda-runtime";
import { median } from "./stats";

/**
 * What a cold start pays to load each handler: the deployable bundle (one minified ES module,
 * SDK inside) against the same handler unbundled (its code compiled alone, the SDK loaded from
 * node_modules file by file, as a plain zip of node_modules would deploy it).
 */

const run = promisify(execFile);
const NODE_MODULES = path.resolve(__dirname, "..", "node_modules");

export interface LoadFigures {
  handler: HandlerName;
  /** Size of the bundle file. */
  bundledBytes: number;
  /** Sum of the sizes of every file the unbundled handler loads (its code and node_modules). */
  unbundledBytes: number;
  unbundledFiles: number;
  /** Median time to import the module in a fresh Node process, ms. */
  bundledLoadMs: number;
  unbundledLoadMs: number;
}

// Each runs in a fresh `node`: the time of the import alone, in ms, on stdout.
const LOAD_ESM = `const t = performance.now(); await import(process.argv[1]); console.log(JSON.stringify({ ms: performance.now() - t }));`;
const LOAD_CJS = `const t = performance.now(); require(process.argv[1]); const ms = performance.now() - t;
const fs = require("fs"); const files = Object.keys(require.cache);
console.log(JSON.stringify({ ms, files: files.length, bytes: files.reduce((sum, f) => sum + fs.statSync(f).size, 0) }));`;

async function unbundled(handler: HandlerName, dir: string): Promise<string> {
  const file = path.join(dir, `${handler}-unbundled`, "index.cjs");
  await esbuild.build({
    entryPoints: [path.join(HANDLERS_DIR, `${handler}.ts`)],
    bundle: true,
    packages: "external",
    platform: "node",
    target: "node22",
    format: "cjs",
    outfile: file,
    logLevel: "silent",
  });
  return file;
}

async function loadOnce(
  script: string,
  moduleArg: string,
  type: "esm" | "cjs",
): Promise<{ ms: number; files?: number; bytes?: number }> {
  const args =
    type === "esm" ? ["--input-type=module", "-e", script, moduleArg] : ["-e", script, moduleArg];
  const { stdout } = await run(process.execPath, args, {
    env: {
      ...process.env,
      NODE_PATH: NODE_MODULES,
    },
  });
  return JSON.parse(stdout.trim().split("\n").pop()!) as {
    ms: number;
    files?: number;
    bytes?: number;
  };
}

/** Size and median load time (of `samples` fresh processes each) for each handler. */
export async function measureBundles(
  handlers: readonly HandlerName[],
  samples: number,
  progress: (line: string) => void,
): Promise<LoadFigures[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-bench-bundles-"));
  try {
    const figures: LoadFigures[] = [];
    for (const handler of handlers) {
      const bundle = await writeBundle(handler, dir);
      const plain = await unbundled(handler, dir);
      const bundledMs: number[] = [];
      const unbundledMs: number[] = [];
      let loaded = { files: 0, bytes: 0 };
      // Alternate the two so that a noisy moment on this shared machine hits both alike.
      for (let i = 0; i < samples; i++) {
        bundledMs.push((await loadOnce(LOAD_ESM, pathToFileURL(bundle).href, "esm")).ms);
        const sample = await loadOnce(LOAD_CJS, plain, "cjs");
        unbundledMs.push(sample.ms);
        loaded = { files: sample.files!, bytes: sample.bytes! };
      }
      const result: LoadFigures = {
        handler,
        bundledBytes: (await fs.stat(bundle)).size,
        unbundledBytes: loaded.bytes,
        unbundledFiles: loaded.files,
        bundledLoadMs: median(bundledMs),
        unbundledLoadMs: median(unbundledMs),
      };
      progress(
        `bundle ${handler}: ${kb(result.bundledBytes)} loads in ${result.bundledLoadMs.toFixed(1)} ms; ` +
          `unbundled ${kb(result.unbundledBytes)} in ${result.unbundledFiles} files loads in ${result.unbundledLoadMs.toFixed(1)} ms`,
      );
      figures.push(result);
    }
    return figures;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KB`;
}
