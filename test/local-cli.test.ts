import { strict as assert } from "assert";
import * as net from "net";
import { TestClient } from "./support/local-clients";
import { Running, startScript, startWscat } from "./support/processes";
import { PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

/** `npm start`'s entry, run as npm runs it (ts-node, transpile only), in its own process group. */
function startCli(...args: string[]): Running {
  return startScript("npm start", "local/main.ts", ...args);
}

describe("npm start (local/main.ts) and the README walkthrough with wscat", function () {
  this.timeout(60_000);
  const running: Running[] = [];
  const track = (r: Running) => (running.push(r), r);

  afterEach(() => {
    for (const r of running.splice(0)) r.kill();
  });

  it("two wscat clients chat through npm start's URL; Ctrl-C closes both, runs $disconnect and exits 0", async () => {
    const server = track(startCli("--port", "0"));
    const [, url] = await server.waitFor(
      /npx wscat -c (ws:\/\/127\.0\.0\.1:\d+\/dev)\n/,
      STARTUP_MS,
    );
    assert.match(server.text, /> \{"action":"sendmessage","data":"hello world"\}/);
    // The page's address is printed next to the wscat line, and its config points at the gateway.
    const [, page] = await server.waitFor(
      /Chat in a browser.*\n {2}(http:\/\/127\.0\.0\.1:\d+\/)\n/,
    );
    const config = await fetch(`${page}config.json`, { signal: AbortSignal.timeout(PROMPTLY_MS) });
    assert.equal(((await config.json()) as { url: string }).url, url);
    const banner = server.text.length;

    const alice = track(startWscat(url));
    const bob = track(startWscat(url));
    await alice.waitFor(/Connected \(press CTRL\+C to quit\)/, STARTUP_MS);
    await bob.waitFor(/Connected \(press CTRL\+C to quit\)/, STARTUP_MS);
    const connected = /"source":"gateway","event":"connect","connectionId":"\S+="\}\n/;
    await server.waitFor(new RegExp(`${connected.source}[^]*${connected.source}`));

    alice.write('{"action":"sendmessage", "data":"hello world"}\r');
    await alice.waitFor(/< hello world/);
    await bob.waitFor(/< hello world/);
    await server.waitFor(
      /"event":"message","connectionId":"\S+=","routeKey":"sendmessage","bytes":\d+/,
    );
    await server.waitFor(/"source":"message","event":"broadcast"/);
    assert.ok(
      !server.text.slice(banner).includes("hello world"),
      "the server logs no message bodies",
    );

    server.kill("SIGINT");
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    assert.match(server.text, /"event":"stopping","signal":"SIGINT","connections":2,/);
    assert.equal(
      server.text.match(/"event":"disconnect","connectionId":"\S+=","code":1001/g)?.length,
      2,
    );
    assert.match(server.text, /"event":"stopped"\}\n$/);
    // After the banner, the log: one JSON object per line, each with its time and source.
    const logLines = server.text.slice(banner).trim().split("\n");
    for (const line of logLines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.ok(typeof entry.time === "string" && typeof entry.source === "string", line);
      assert.equal(typeof entry.event, "string", line);
    }
    await alice.waitFor(/Disconnected \(code: 1001, reason: "Going away"\)/);
    await bob.waitFor(/Disconnected \(code: 1001, reason: "Going away"\)/);
  });

  it("lives through a URL and headers named after Object.prototype members, and keeps serving", async () => {
    const server = track(startCli("--port", "0"));
    const [, url] = await server.waitFor(
      /npx wscat -c (ws:\/\/127\.0\.0\.1:\d+\/dev)\n/,
      STARTUP_MS,
    );
    const headers: Record<string, string> = {};
    for (const name of ["__proto__", "constructor", "hasOwnProperty"]) {
      Object.defineProperty(headers, name, { value: "1", enumerable: true });
    }
    const clients: TestClient[] = [];
    try {
      for (const query of ["?constructor=1", "?__proto__=1&toString=2&toString=3"]) {
        clients.push(
          await within(
            PROMPTLY_MS,
            `${query} to connect`,
            TestClient.connect(`${url}${query}`, { headers }),
          ),
        );
      }
      const [alice, bob] = [await TestClient.connect(url), await TestClient.connect(url)];
      clients.push(alice, bob);
      await alice.send(JSON.stringify({ action: "sendmessage", data: "still here" }));
      assert.equal(await within(PROMPTLY_MS, "bob's copy", bob.next()), "still here");
      assert.equal(server.child.exitCode, null, "npm start is still running");
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  it("SIGTERM, even during startup, stops cleanly with exit code 0", async () => {
    const server = track(startCli("--port", "0", "--stage", "test"));
    await server.waitFor(/Building the handler bundles/, STARTUP_MS);
    server.kill("SIGTERM");
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    assert.match(
      server.text,
      /"event":"stopping","signal":"SIGTERM","connections":0,[^]*"event":"stopped"/,
    );
  });

  it("says which port is taken and exits 1 when the port is in use", async () => {
    const blocker = net.createServer();
    await within(
      PROMPTLY_MS,
      "a port to block",
      new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve)),
    );
    try {
      const port = String((blocker.address() as net.AddressInfo).port);
      const server = track(startCli("--port", port));
      const page = track(startCli("--port", "0", "--page-port", port));
      assert.equal((await server.exited).code, 1);
      assert.match(server.text, new RegExp(`Port ${port} is in use: pick another with --port`));
      assert.equal((await page.exited).code, 1);
      assert.match(page.text, new RegExp(`Port ${port} \\(the page's\\) is in use: .*--page-port`));
    } finally {
      blocker.close();
    }
  });

  it("--help explains the flags and environment variables; a bad flag exits 2", async () => {
    const help = track(startCli("--help"));
    assert.equal((await help.exited).code, 0);
    for (const flag of [
      "--port",
      "--host",
      "--page-port",
      "CHAT_PAGE_PORT",
      "--stack",
      "--stage",
      "--data-dir",
      "--persist",
      "CHAT_PORT",
      "CHAT_DATA_DIR",
      "--concurrency",
      "CHAT_CONCURRENCY",
    ]) {
      assert.ok(help.text.includes(flag), flag);
    }
    const bad = track(startCli("--port", "lots"));
    assert.equal((await bad.exited).code, 2);
    assert.match(bad.text, /--port must be a whole number/);
    const tooLong = track(startCli("--idle-timeout", "1e10"));
    assert.equal((await tooLong.exited).code, 2);
    assert.match(tooLong.text, /--idle-timeout must be a number of seconds from 0 to 2147483/);
    const noConcurrency = track(startCli("--concurrency", "0"));
    assert.equal((await noConcurrency.exited).code, 2);
    assert.match(noConcurrency.text, /--concurrency must be at least 1/);
  });
});
