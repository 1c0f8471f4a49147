import * as esbuild from "esbuild";
import * as path from "path";

/**
 * Compiles a bench process's TypeScript to one plain CommonJS file in `dir`, its npm packages
 * left to load from node_modules (NODE_PATH, see `COMPILED_ENV`). The fan-out processes run
 * that file on plain Node, as a Lambda container runs its code: under ts-node they would also
 * carry the TypeScript compiler and ts-node's `domain` module, which slows every event emitter
 * and skews the CPU each strategy is charged.
 */
export async function compileProcessScript(script: string, dir: string): Promise<string> {
  const outfile = path.join(dir, `${path.basename(script, ".ts")}.cjs`);
  try {
    await esbuild.build({
      entryPoints: [script],
      bundle: true,
      packages: "external",
      platform: "node",
      target: "node22",
      format: "cjs",
      outfile,
      logLevel: "silent",
    });
  } finally {
    // Nothing else is built while the bench runs: do not keep esbuild's service around.
    await esbuild.stop();
  }
  return outfile;
}

/** What a compiled script needs to find the project's npm packages from another directory. */
export const COMPILED_ENV = { NODE_PATH: path.resolve(__dirname, "..", "node_modules") };
