import { execFileSync } from "child_process";
import { Browser, chromium } from "playwright-core";

/**
 * Debian's `chromium` (`apt-get install chromium`; .ci/run installs it), or CHROMIUM_PATH.
 * Missing, the browser tests fail saying so: they never pass by not running.
 */
export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "The browser tests need Chromium: apt-get install chromium (or set CHROMIUM_PATH).",
    );
  }
}

/** Headless Chromium with a fresh profile (playwright makes a new user data directory). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    timeout: 15_000,
  });
}
