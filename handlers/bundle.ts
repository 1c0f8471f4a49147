import * as esbuild from "esbuild";
import { isBuiltin } from "module";
import * as path from "path";
import { FunctionName } from "../handlers/routes";

export const HANDLERS_DIR = __dirname;

/** The file name Lambda loads: `index.handler` resolves to `index.mjs` for an ESM bundle. */
export const BUNDLE_FILE_NAME = "index.mjs";
export const BUNDLE_HANDLER = "index.handler";

// ESM bundles that inline CommonJS code (parts of the AWS SDK are) call `require` for Node
// built-ins; without a real `require` they die at cold start with
// `Dynamic require of "crypto" is not supported`.
const REQUIRE_BANNER =
  'import { createRequire as __chatCreateRequire } from "module"; const require = __chatCreateRequire(import.meta.url);';

// An ES module's `import ... from "http"` makes Node 22 and 24 build an ES module facade of the
// built-in, which reads every one of its exports and so runs their lazy getters: `http` loads
// undici, `util` and `crypto` load much of what they hide behind getters. A `require` of the
// same built-in does none of that. Measured on the message bundle (CPU time to import it, Node
// 24): 74 ms with imports, 55 ms with requires, against 85 ms for the unbundled handler. So the
// bundle imports each built-in through the banner's `require` (esbuild wraps the one-line
// CommonJS module below and calls it where the import stood), the SDK's `await import("http")`
// (its HTTP handler's first request) included.
const BUILTIN_NAMESPACE = "node-builtin-by-require";
const builtinsByRequire: esbuild.Plugin = {
  name: "builtins-by-require",
  setup(build) {
    build.onResolve({ filter: /^[a-z:_/]+$/ }, ({ path: name, kind, namespace }) =>
      (kind === "import-statement" || kind === "dynamic-import") &&
      namespace !== BUILTIN_NAMESPACE &&
      isBuiltin(name)
        ? { path: name, namespace: BUILTIN_NAMESPACE }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: BUILTIN_NAMESPACE }, ({ path: name }) => ({
      contents: `module.exports = require(${JSON.stringify(name)});`,
      loader: "js",
    }));
  },
};

const bundles = new Map<FunctionName, Promise<string>>();

/**
 * Bundles `handlers/<name>.ts` into one minified ES module, AWS SDK included so that what
 * runs is exactly the locked version. The same bundle is deployed by the component and run
 * by the local gateway. Cached per process: every caller gets the same build.
 */
export function bundleHandler(name: FunctionName): Promise<string> {
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

/**
 * Bundles any entry module exactly as handlers are bundled (uncached); `plugins` run before
 * the bundler's own (the bench swaps modules with them).
 */
export async function bundleModule(
  entryPoint: string,
  plugins: esbuild.Plugin[] = [],
): Promise<string> {
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
    plugins: [...plugins, builtinsByRequire],
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}
