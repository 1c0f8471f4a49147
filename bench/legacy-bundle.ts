import type * as esbuild from "esbuild";
import * as fs from "fs/promises";
import * as path from "path";
import { BUNDLE_FILE_NAME, bundleModule, HANDLERS_DIR } from "../handlers/bundle";

/**
 * Strategy 6: the message handler as it was before its broadcast moved onto undici. It is
 * today's handlers/message.ts, bundled exactly as the deployed one, except that its broadcast
 * and poster come from bench-only copies of the code they replaced (bench/legacy/): whatever
 * differs between strategies 1 and 6 is the posting path alone.
 */
const LEGACY_DIR = path.join(__dirname, "legacy");
const REPLACED = new Map([
  [path.join(HANDLERS_DIR, "lib", "broadcast"), path.join(LEGACY_DIR, "broadcast.ts")],
  [path.join(HANDLERS_DIR, "lib", "pool-poster"), path.join(LEGACY_DIR, "pool-poster.ts")],
]);

const legacyPostingPath: esbuild.Plugin = {
  name: "legacy-posting-path",
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, ({ path: request, resolveDir }) => {
      const replacement = REPLACED.get(path.join(resolveDir, request).replace(/\.ts$/, ""));
      return replacement ? { path: replacement } : undefined;
    });
  },
};

/** The plugin, for bundling other entries the same way (bench/bundle-load.ts). */
export const LEGACY_PLUGINS = [legacyPostingPath];

/** Writes the legacy message bundle to `dir`/message-legacy/index.mjs; returns its path. */
export async function writeLegacyMessageBundle(dir: string): Promise<string> {
  const code = await bundleModule(path.join(HANDLERS_DIR, "message.ts"), LEGACY_PLUGINS);
  const file = path.join(dir, "message-legacy", BUNDLE_FILE_NAME);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, code);
  return file;
}
