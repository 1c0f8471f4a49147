import * as esbuild from "esbuild";
import * as path from "path";
import { HandlerName } from "../handlers/routes";

export const HANDLERS_DIR = __dirname;

/** The file name Lambda loads: `index.handler` resolves to `index.mjs` for an ESM bundle. */
export const BUNDLE_FILE_NAME = "index.mjs";
export const BUNDLE_HANDLER = "index.handler";

// ESM bundles that inline CommonJS code (parts of the AWS SDK are) call `require` for Node
// built-ins; without a real `require` they die at cold start with
// `Dynamic require of "crypto" is not supported`.
const REQUIRE_BANNER =
  'import { createRequire as __chatCreateRequire } from "module"; const require = __chatCreateRequire(import.meta.url);';

const bundles = new Map<HandlerName, Promise<string>>();

/**
 * Bundles `handlers/<name>.ts` into one minified ES module, AWS SDK included so that what
 * runs is exactly the locked version. The same bundle is deployed by the component and run
 * by the local gateway. Cached per process: every caller gets the same build.
 */
export function bundleHandler(name: HandlerName): Promise<string> {
  let bundle = bundles.get(name);
  if (!bundle) {
    bundle = bundleModule(path.join(HANDLERS_DIR, `${name}.ts`));
    bundles.set(name, bundle);
    bundle.catch(() => bundles.delete(name));
  }
  return bundle;
}

// esbuild runs its builds in a service process of its own (about 200 MB RSS) that it keeps for
// later calls. Bundles are built once per process and then cached, so the service is stopped as
// soon as no build is running; a later build starts a new one.
let buildsRunning = 0;

async function build(
  options: esbuild.BuildOptions & { write: false },
): Promise<esbuild.BuildResult<{ write: false }>> {
  buildsRunning++;
  try {
    return await esbuild.build(options);
  } finally {
    if (--buildsRunning === 0) await esbuild.stop();
  }
}

/** Bundles any entry module exactly as handlers are bundled (uncached). */
export async function bundleModule(entryPoint: string): Promise<string> {
  const result = await build({
    entryPoints: [entryPoint],
    bundle: true,
    platform: "node",
    // The oldest runtime the component deploys (nodejs22.x; nodejs24.x is the default).
    target: "node22",
    format: "esm",
    // The SDK's ES module builds ("module") let esbuild drop the commands and code paths a
    // handler never uses; its CommonJS builds ("main", esbuild's first choice for node) cannot
    // be tree-shaken. Measured: the message bundle shrinks from 531 to 340 KB and loads in
    // about half the time (bench/bundle-load.ts).
    mainFields: ["module", "main"],
    minify: true,
    legalComments: "none",
    banner: { js: REQUIRE_BANNER },
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}
