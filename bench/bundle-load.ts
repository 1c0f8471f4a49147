import { execFile } from "child_process";
import * as esbuild from "esbuild";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { promisify } from "util";
import { bundleModule, HANDLERS_DIR } from "../handlers/bundle";
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
  /** The handler, or the label of an extra bundle (`ExtraBundle`). */
  handler: string;
  /** Set for an extra bundle measured as a baseline, not a deployed handler. */
  baseline?: boolean;
  /** The Node version that loaded it, e.g. "v24.21.0". */
  node: string;
  /** Size of the bundle file. */
  bundledBytes: number;
  /** Sum of the sizes of every file the unbundled handler loads (its code and node_modules). */
  unbundledBytes: number;
  unbundledFiles: number;
  /** Median time to import the module in a fresh Node process, ms. */
  bundledLoadMs: number;
  unbundledLoadMs: number;
  /** Median CPU time (all threads) of the same imports, ms: steadier than wall time on a busy machine. */
  bundledLoadCpuMs: number;
  unbundledLoadCpuMs: number;
}

// Each runs in a fresh `node`: the wall and CPU time of the import alone, in ms, on stdout.
const LOAD_ESM = `const c = process.cpuUsage(), t = performance.now(); await import(process.argv[1]);
const ms = performance.now() - t, cpu = process.cpuUsage(c);
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, node: process.version }));`;
const LOAD_CJS = `const c = process.cpuUsage(), t = performance.now(); require(process.argv[1]);
const ms = performance.now() - t, cpu = process.cpuUsage(c);
const fs = require("fs"); const files = Object.keys(require.cache);
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, node: process.version, files: files.length, bytes: files.reduce((sum, f) => sum + fs.statSync(f).size, 0) }));`;

interface LoadSample {
  ms: number;
  cpuMs: number;
  node: string;
  files?: number;
  bytes?: number;
}

/** A handler bundled with other modules swapped in by `plugins`: a baseline to compare with. */
export interface ExtraBundle {
  label: string;
  entry: HandlerName;
  plugins: esbuild.Plugin[];
}

async function unbundled(
  handler: HandlerName,
  dir: string,
  label: string = handler,
  plugins: esbuild.Plugin[] = [],
): Promise<string> {
  const file = path.join(dir, `${label.replace(/\W+/g, "-")}-unbundled`, "index.cjs");
  await esbuild.build({
    entryPoints: [path.join(HANDLERS_DIR, `${handler}.ts`)],
    plugins,
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
  node: string,
  script: string,
  moduleArg: string,
  type: "esm" | "cjs",
): Promise<LoadSample> {
  const args =
    type === "esm" ? ["--input-type=module", "-e", script, moduleArg] : ["-e", script, moduleArg];
  const { stdout } = await run(node, args, {
    env: {
      ...process.env,
      NODE_PATH: NODE_MODULES,
    },
  });
  return JSON.parse(stdout.trim().split("\n").pop()!) as LoadSample;
}

/**
 * Size and median load time (of `samples` fresh processes each) for each handler, on each of
 * `nodes` (paths of `node` binaries; Lambda runs nodejs24.x and nodejs22.x).
 */
export async function measureBundles(
  handlers: readonly HandlerName[],
  samples: number,
  nodes: readonly string[],
  progress: (line: string) => void,
  extra?: ExtraBundle,
): Promise<LoadFigures[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-bench-bundles-"));
  try {
    const figures: LoadFigures[] = [];
    const items: { label: string; bundle: () => Promise<string>; plain: () => Promise<string> }[] =
      handlers.map((handler) => ({
        label: handler,
        bundle: () => writeBundle(handler, dir),
        plain: () => unbundled(handler, dir),
      }));
    if (extra) {
      items.push({
        label: extra.label,
        bundle: async () => {
          const file = path.join(dir, extra.label.replace(/\W+/g, "-"), "index.mjs");
          await fs.mkdir(path.dirname(file), { recursive: true });
          await fs.writeFile(
            file,
            await bundleModule(path.join(HANDLERS_DIR, `${extra.entry}.ts`), extra.plugins),
          );
          return file;
        },
        plain: () => unbundled(extra.entry, dir, extra.label, extra.plugins),
      });
    }
    for (const { label: handler, bundle: writeIt, plain: writePlain } of items) {
      const bundle = await writeIt();
      const plain = await writePlain();
      for (const node of nodes) {
        const bundled: LoadSample[] = [];
        const unbundled: LoadSample[] = [];
        // Alternate the two so that a noisy moment on this shared machine hits both alike.
        for (let i = 0; i < samples; i++) {
          bundled.push(await loadOnce(node, LOAD_ESM, pathToFileURL(bundle).href, "esm"));
          unbundled.push(await loadOnce(node, LOAD_CJS, plain, "cjs"));
        }
        const last = unbundled[unbundled.length - 1];
        const result: LoadFigures = {
          handler,
          ...(extra && handler === extra.label ? { baseline: true } : {}),
          node: bundled[0].node,
          bundledBytes: (await fs.stat(bundle)).size,
          unbundledBytes: last.bytes!,
          unbundledFiles: last.files!,
          bundledLoadMs: median(bundled.map((s) => s.ms)),
          unbundledLoadMs: median(unbundled.map((s) => s.ms)),
          bundledLoadCpuMs: median(bundled.map((s) => s.cpuMs)),
          unbundledLoadCpuMs: median(unbundled.map((s) => s.cpuMs)),
        };
        progress(
          `bundle ${handler} on Node ${result.node}: ${kb(result.bundledBytes)} loads in ${result.bundledLoadMs.toFixed(1)} ms ` +
            `(CPU ${result.bundledLoadCpuMs.toFixed(1)} ms); unbundled ${kb(result.unbundledBytes)} in ` +
            `${result.unbundledFiles} files in ${result.unbundledLoadMs.toFixed(1)} ms (CPU ${result.unbundledLoadCpuMs.toFixed(1)} ms)`,
        );
        figures.push(result);
      }
    }
    return figures;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KB`;
}
