import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { chatRoutes, DEFAULT_MESSAGE_ROUTE } from "../handlers/routes";
import { PageConfig, PageServer, gatewayUrlFor, startPageServer } from "../local/page-server";

const PAGE_DIR = path.resolve(__dirname, "..", "local", "page");

const CONFIG: PageConfig = {
  url: "ws://127.0.0.1:1/dev",
  routeSelectionExpression: "$request.body.message",
  messageRoute: "pushmessage",
  maxFrameBytes: 32768,
  idleTimeoutSeconds: 600,
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request, so that tests choose the path and Host header byte for byte. */
function request(
  port: number,
  target: string,
  options: { method?: string; host?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: target,
        method: options.method ?? "GET",
        headers: { host: options.host ?? `127.0.0.1:${port}` },
        timeout: 5000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer to ${target} within 5 s`)));
    req.on("error", reject);
    req.end();
  });
}

describe("local/page-server.ts: the chat page over HTTP", function () {
  this.timeout(10_000);
  let server: PageServer;
  const hostsAsked: Array<string | undefined> = [];

  before(async () => {
    server = await startPageServer({
      port: 0,
      config: (requestHost) => {
        hostsAsked.push(requestHost);
        return CONFIG;
      },
    });
  });
  after(() => server.close());

  it("serves the page at / (any query) with a policy that runs only its own scripts", async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    for (const target of ["/", "/?room=general&name=alice", "/index.html"]) {
      const answer = await request(server.port, target);
      assert.equal(answer.status, 200, target);
      assert.equal(answer.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(answer.body, fs.readFileSync(path.join(PAGE_DIR, "index.html"), "utf8"));
      const policy = String(answer.headers["content-security-policy"]);
      assert.match(policy, /script-src 'self'/);
      assert.match(policy, /default-src 'none'/);
      assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
      assert.equal(answer.headers["x-content-type-options"], "nosniff");
    }
  });

  it("serves the stylesheet and the two modules with their types", async () => {
    const types = {
      "/chat.css": "text/css; charset=utf-8",
      "/chat.mjs": "text/javascript; charset=utf-8",
      "/protocol.mjs": "text/javascript; charset=utf-8",
    };
    for (const [target, type] of Object.entries(types)) {
      const answer = await request(server.port, target);
      assert.equal(answer.status, 200, target);
      assert.equal(answer.headers["content-type"], type, target);
      assert.equal(answer.body, fs.readFileSync(path.join(PAGE_DIR, target.slice(1)), "utf8"));
    }
  });

  it("answers /config.json from the config function and the route table, told the host name the browser used", async () => {
    hostsAsked.length = 0;
    const answer = await request(server.port, "/config.json", {
      host: `localhost:${server.port}`,
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["content-type"], "application/json; charset=utf-8");
    assert.deepEqual(JSON.parse(answer.body), {
      ...CONFIG,
      actions: Object.fromEntries(
        chatRoutes()
          .filter(({ routeKey }) => !routeKey.startsWith("$") && routeKey !== DEFAULT_MESSAGE_ROUTE)
          .map(({ handler, routeKey }) => [handler, routeKey]),
      ),
    });
    assert.deepEqual(hostsAsked, ["localhost"]);
  });

  it("serves nothing else: other files, the project's sources and traversals are 404", async () => {
    for (const target of [
      "/package.json",
      "/page-server.ts",
      "/../page-server.ts",
      "/%2e%2e/page-server.ts",
      "/page/chat.mjs",
      "/chat.mjs/",
      "/constructor",
      "/__proto__",
      "/dev",
    ]) {
      assert.equal((await request(server.port, target)).status, 404, target);
    }
  });

  it("answers GET and HEAD only", async () => {
    const head = await request(server.port, "/", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.ok(Number(head.headers["content-length"]) > 0);
    for (const method of ["POST", "PUT", "DELETE"]) {
      const answer = await request(server.port, "/", { method });
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers.allow, "GET, HEAD");
    }
  });

  it("on loopback, answers only requests addressed to a loopback name (no DNS rebinding)", async () => {
    for (const host of [
      "evil.example",
      `evil.example:${server.port}`,
      "10.0.0.1",
      "127.0.0.1.evil.example",
      "[bad",
    ]) {
      assert.equal(
        (await request(server.port, "/config.json", { host })).status,
        421,
        `Host: ${host}`,
      );
    }
    for (const host of [`localhost:${server.port}`, "127.0.0.2", `[::1]:${server.port}`]) {
      assert.equal((await request(server.port, "/config.json", { host })).status, 200, host);
    }
  });

  it("says which port is taken", async () => {
    await assert.rejects(
      startPageServer({ port: server.port, config: () => CONFIG }),
      (err: NodeJS.ErrnoException) => err.code === "EADDRINUSE",
    );
  });
});

describe("local/page-server.ts: gatewayUrlFor", () => {
  it("points a browser at a gateway on every interface by the name it used for the page", () => {
    const url = "ws://127.0.0.1:3001/dev";
    assert.equal(gatewayUrlFor(url, "0.0.0.0", "192.168.1.20"), "ws://192.168.1.20:3001/dev");
    assert.equal(gatewayUrlFor(url, "::", "laptop.local"), "ws://laptop.local:3001/dev");
    assert.equal(gatewayUrlFor(url, "127.0.0.1", "localhost"), url);
    assert.equal(gatewayUrlFor(url, undefined, "localhost"), url);
    assert.equal(gatewayUrlFor(url, "0.0.0.0", undefined), url);
  });
});
