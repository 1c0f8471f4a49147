import * as assert from "assert/strict";
import { Browser } from "playwright-core";
import { chooseChromium, launchChromium, registryChromium } from "./support/browser";

describe("the browser tests' Chromium (test/support/browser.ts)", function () {
  describe("which Chromium", () => {
    it("takes CHROMIUM_PATH first, even where a system chromium exists", () => {
      assert.deepEqual(chooseChromium("/opt/chrome", "/usr/bin/chromium", "linux", "x64"), {
        source: "CHROMIUM_PATH",
        executablePath: "/opt/chrome",
      });
    });

    it("takes a chromium on PATH before the npm package's", () => {
      assert.deepEqual(chooseChromium(undefined, "/usr/bin/chromium", "linux", "arm64"), {
        source: "system",
        executablePath: "/usr/bin/chromium",
      });
      assert.deepEqual(chooseChromium("", "/usr/bin/chromium", "linux", "x64"), {
        source: "system",
        executablePath: "/usr/bin/chromium",
      });
    });

    it("falls back to @sparticuz/chromium on Linux x64, the only build it ships", () => {
      assert.deepEqual(chooseChromium(undefined, undefined, "linux", "x64"), {
        source: "@sparticuz/chromium",
      });
    });

    it("elsewhere says what to install instead of failing inside playwright", () => {
      const choice = chooseChromium(undefined, undefined, "linux", "arm64");
      assert.equal(choice.source, "none");
      assert.match(
        (choice as { reason: string }).reason,
        /Linux x64 only, and this is linux arm64: .*apt-get install chromium.*CHROMIUM_PATH/,
      );
    });
  });

  // Whatever a machine has installed, this runs the npm package's Chromium, the one a fresh
  // machine gets from `npm ci` alone.
  describe("the Chromium that @sparticuz/chromium ships", function () {
    this.timeout(60_000);
    let browser: Browser | undefined;

    before(function () {
      if (process.platform !== "linux" || process.arch !== "x64") {
        console.log(`    (skipped: @sparticuz/chromium has no ${process.arch} build)`);
        this.skip();
      }
    });
    after(async () => {
      await browser?.close();
    });

    it("keeps running when one of its contexts closes, and renders text", async () => {
      browser = await launchChromium(await registryChromium());
      const first = await browser.newContext();
      const second = await browser.newContext();
      const page = await second.newPage();
      await first.close();
      assert.ok(browser.isConnected(), "the browser ended with its first closed context");
      await page.setContent('<p><span id="text">hello world</span></p>');
      const width = await page.$eval("#text", (span) => span.getBoundingClientRect().width);
      assert.ok(width > 20, `"hello world" is ${width} px wide: no font`);
    });
  });
});
