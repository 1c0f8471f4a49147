import { strict as assert } from "assert";
import { Running, startScript } from "./support/processes";
import { PROMPTLY_MS, STARTUP_MS } from "./support/within";

/** `npm run page`'s entry, run as npm runs it. */
function startPage(...args: string[]): Running {
  return startScript("npm run page", "local/page-main.ts", ...args);
}

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(PROMPTLY_MS) });
  assert.equal(response.status, 200, url);
  return response.json();
}

describe("npm run page (local/page-main.ts): the page alone, pointed at a deployed chat", function () {
  this.timeout(30_000);
  const running: Running[] = [];
  const track = (r: Running) => (running.push(r), r);

  afterEach(() => {
    for (const r of running.splice(0)) r.kill();
  });

  it("serves the page with config.json pointing at the URL given, routed as the stack is; Ctrl-C exits 0", async () => {
    const deployed = "wss://abc123defg.execute-api.ap-northeast-1.amazonaws.com/dev";
    const page = track(startPage(`${deployed}?stray=1#x`, "--port", "0"));
    const [, address] = await page.waitFor(
      /Open this in a browser.*\n {2}(http:\/\/\S+\/)\n/,
      STARTUP_MS,
    );
    assert.match(page.text, new RegExp(`The chat page for ${deployed.replace(/\./g, "\\.")}\n`));

    assert.deepEqual(await fetchJson(`${address}config.json`), {
      url: deployed,
      // Pulumi.dev.yaml sets neither, so the project's defaults.
      routeSelectionExpression: "$request.body.action",
      messageRoute: "sendmessage",
      maxFrameBytes: 32 * 1024,
      idleTimeoutSeconds: 600,
      // The chat's own actions, from the route table.
      actions: { history: "history", who: "who" },
    });
    const html = await fetch(address, { signal: AbortSignal.timeout(PROMPTLY_MS) });
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<script type="module" src="chat.mjs"><\/script>/);

    page.kill("SIGINT");
    assert.deepEqual(await page.exited, { code: 0, signal: null });
  });

  it("refuses a missing, malformed or non-WebSocket URL with the reason and exit code 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /Give the chat's URL, and only that/],
      [["not a url"], /"not a url" is not a URL/],
      [["https://example.com/dev"], /is not a WebSocket URL: expected ws:\/\/ or wss:\/\//],
      [["wss://a.example/dev", "--port", "http"], /--port must be a port number/],
    ];
    // In parallel: each is a ts-node start of a few seconds.
    await Promise.all(
      cases.map(async ([args, reason]) => {
        const page = track(startPage(...args));
        assert.equal((await page.exited).code, 2, args.join(" "));
        assert.match(page.text, reason);
        assert.match(page.text, /Usage: npm run page -- <ws:\/\/ or wss:\/\/ URL>/);
      }),
    );
  });
});
