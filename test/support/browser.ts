import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Browser, chromium } from "playwright-core";

/** Where the browser tests' Chromium comes from, in the order they look. */
export type ChromiumChoice =
  | { source: "CHROMIUM_PATH" | "system"; executablePath: string }
  | { source: "@sparticuz/chromium" }
  | { source: "none"; reason: string };

/**
 * CHROMIUM_PATH when set, else a `chromium` on PATH (Debian's package), else the Chromium that
 * the devDependency @sparticuz/chromium ships inside its npm package. That package holds a Linux
 * x64 build only (its README: arm64 builds are GitHub release assets, not on the registry), so
 * elsewhere the choice is "none" with what to install.
 */
export function chooseChromium(
  chromiumPathEnv: string | undefined,
  systemChromium: string | undefined,
  platform: NodeJS.Platform,
  arch: string,
): ChromiumChoice {
  if (chromiumPathEnv) return { source: "CHROMIUM_PATH", executablePath: chromiumPathEnv };
  if (systemChromium) return { source: "system", executablePath: systemChromium };
  if (platform === "linux" && arch === "x64") return { source: "@sparticuz/chromium" };
  return {
    source: "none",
    reason:
      `@sparticuz/chromium ships Chromium for Linux x64 only, and this is ${platform} ${arch}: ` +
      `install a Chromium (Debian: apt-get install chromium) or set CHROMIUM_PATH.`,
  };
}

function systemChromium(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

/** A Chromium executable and the environment it runs with. */
export interface ResolvedChromium {
  source: Exclude<ChromiumChoice["source"], "none">;
  executablePath: string;
  env: NodeJS.ProcessEnv;
}

/** The browser the tests drive; @sparticuz/chromium's is unpacked once per machine and version. */
export async function resolveChromium(): Promise<ResolvedChromium> {
  const choice = chooseChromium(
    process.env.CHROMIUM_PATH,
    systemChromium(),
    process.platform,
    process.arch,
  );
  switch (choice.source) {
    case "none":
      throw new Error(`The browser tests need Chromium. ${choice.reason}`);
    case "CHROMIUM_PATH":
    case "system":
      return { ...choice, env: process.env };
    case "@sparticuz/chromium":
      return registryChromium();
  }
}

/**
 * The package's Chromium (headless_shell with its SwiftShader libraries beside it and Open Sans)
 * in a cache directory named for its version. The package unpacks into os.tmpdir() and trusts
 * whatever `chromium` it finds there, so it runs in a child with TMPDIR pointed at a fresh
 * directory, which is then renamed into place: the rename is atomic, so a concurrent run (a
 * second `npm test` on the machine) never sees a half-written binary, and a cached directory is
 * always whole.
 */
export async function registryChromium(): Promise<ResolvedChromium> {
  const entry = require.resolve("@sparticuz/chromium");
  const packageJson = path.join(path.dirname(entry), "..", "package.json");
  const { version } = JSON.parse(fs.readFileSync(packageJson, "utf8")) as { version: string };
  const cache = path.join(
    process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
    "websocket-chat",
  );
  const dir = path.join(cache, `sparticuz-chromium-${version}-${process.arch}`);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(cache, { recursive: true });
    const staging = fs.mkdtempSync(`${dir}.unpacking-`);
    try {
      const unpack =
        'import c from "@sparticuz/chromium"; process.stdout.write(await c.executablePath());';
      await promisify(execFile)(process.execPath, ["--input-type=module", "-e", unpack], {
        cwd: path.dirname(entry),
        env: { ...process.env, TMPDIR: staging },
      });
      fs.writeFileSync(path.join(staging, "fonts.conf"), fontsConf(dir));
      fs.renameSync(staging, dir);
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      // Another run renamed its copy into place first: use that one.
      if (!fs.existsSync(dir)) throw error;
    }
  }
  return {
    source: "@sparticuz/chromium",
    executablePath: path.join(dir, "chromium"),
    // The package's own fonts.conf names Lambda's directories (/tmp/fonts, /var/task/fonts).
    env: { ...process.env, FONTCONFIG_FILE: path.join(dir, "fonts.conf") },
  };
}

function fontsConf(dir: string): string {
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
    "<fontconfig>",
    `  <dir>${path.join(dir, "fonts", "fonts")}</dir>`,
    `  <cachedir>${path.join(dir, "fonts-cache")}</cachedir>`,
    '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
    "</fontconfig>",
    "",
  ].join("\n");
}

/** "Chromium 153.0.8010.0 from @sparticuz/chromium (/root/.cache/...)", for CI's log. */
export async function describeChromium(): Promise<string> {
  const resolved = await resolveChromium();
  const { stdout } = await promisify(execFile)(resolved.executablePath, ["--version"], {
    env: resolved.env,
  });
  return `${stdout.trim()} from ${resolved.source} (${resolved.executablePath})`;
}

/**
 * Headless Chromium with a fresh profile: playwright makes a new --user-data-dir for each launch
 * (and refuses one in `args`). The flags are ours, not @sparticuz/chromium's `chromium.args`:
 * those include --single-process, with which the browser ends when its first context closes.
 * The sandbox is off (playwright passes --no-sandbox): as root Chromium will not start with it,
 * and containers rarely allow the user namespaces it needs otherwise; the browser only loads the
 * local chat page. The rest keep it off the network (this machine's is closed) and quiet.
 */
export async function launchChromium(resolved?: ResolvedChromium): Promise<Browser> {
  const { executablePath, env } = resolved ?? (await resolveChromium());
  return chromium.launch({
    executablePath,
    env,
    headless: true,
    chromiumSandbox: false,
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 15_000,
  });
}
