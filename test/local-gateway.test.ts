import { strict as assert } from "assert";
import { once } from "events";
import * as http from "http";
import * as net from "net";
import { WebSocket } from "ws";
import { TestClient, refusedUpgradeStatus } from "./support/local-clients";
import { answerTo, chatRoutes, latch, useLocalGateway } from "./support/local-gateway";
import { PROMPTLY_MS, within } from "./support/within";

const FORBIDDEN_FRAME =
  /^\{"message": "Forbidden", "connectionId":"([A-Za-z0-9+/]{15}=)", "requestId":"([A-Za-z0-9+/]{15}=)"\}$/;
const INTERNAL_ERROR_FRAME =
  /^\{"message": "Internal server error", "connectionId":"([A-Za-z0-9+/]{15}=)", "requestId":"([A-Za-z0-9+/]{15}=)"\}$/;

describe("local gateway (local/gateway.ts)", function () {
  const harness = useLocalGateway();

  describe("the upgrade waits for $connect", () => {
    it("holds the handshake until $connect answers 2xx, and the connecting id is Gone meanwhile", async () => {
      const { released, release } = latch("$connect");
      await harness.start((i) => ({
        $connect: i.route(async () => {
          await released;
          return { statusCode: 200 };
        }),
      }));
      let opened = false;
      const connecting = harness.connect().then((client) => {
        opened = true;
        return client;
      });
      const event = await harness.integrations.next("$connect");
      try {
        const get = await answerTo(
          `${harness.gateway.managementEndpoint}/@connections/${encodeURIComponent(event.requestContext.connectionId)}`,
        );
        assert.equal(get.status, 410);
        assert.equal(get.headers.get("x-amzn-errortype"), "GoneException");
        assert.equal(opened, false);
      } finally {
        release(); // even on failure, so that the gateway can close
      }
      const client = await connecting;
      assert.ok(client.isOpen);
      assert.deepEqual(harness.gateway.connectionIds(), [event.requestContext.connectionId]);
    });

    it("runs $disconnect (1006) when the client gave up while a successful $connect was running", async () => {
      const { released, release } = latch("$connect");
      await harness.start((i) => ({
        $connect: i.route(async () => {
          await released;
          return { statusCode: 200 };
        }),
        $disconnect: i.route(),
      }));
      const socket = new WebSocket(harness.gateway.url);
      socket.on("error", () => {});
      const { connectionId } = (await harness.integrations.next("$connect")).requestContext;
      const gone = new Promise((resolve) => socket.once("close", resolve));
      socket.terminate();
      await within(PROMPTLY_MS, "the client's socket to close", gone);
      release();
      const event = await harness.integrations.next("$disconnect");
      assert.equal(event.requestContext.connectionId, connectionId);
      assert.equal(event.requestContext.disconnectStatusCode, 1006);
      assert.deepEqual(harness.gateway.connectionIds(), []);
    });

    for (const status of [401, 403, 429, 500]) {
      it(`answers the upgrade with ${status} when $connect returns statusCode ${status}, and runs no $disconnect`, async () => {
        await harness.start((i) => ({
          $connect: i.route(() => ({ statusCode: status })),
          $disconnect: i.route(),
        }));
        assert.equal(await refusedUpgradeStatus(harness.gateway.url), status);
        assert.deepEqual(harness.gateway.connectionIds(), []);
        assert.equal(harness.integrations.count("$disconnect"), 0);
      });
    }

    it("answers 500 when the $connect function is throttled (TooManyRequestsException)", async () => {
      await harness.start((i) => ({
        $connect: i.route(() => {
          throw Object.assign(new Error("Rate Exceeded."), { name: "TooManyRequestsException" });
        }),
      }));
      assert.equal(await refusedUpgradeStatus(harness.gateway.url), 500);
      assert.deepEqual(harness.gateway.connectionIds(), []);
    });

    it("answers 502 when $connect throws", async () => {
      await harness.start((i) => ({
        $connect: i.route(() => {
          throw new Error("boom");
        }),
      }));
      assert.equal(await refusedUpgradeStatus(harness.gateway.url), 502);
    });

    it("answers 502 when $connect returns no statusCode", async () => {
      await harness.start((i) => ({ $connect: i.route(() => ({ body: "Connected" })) }));
      assert.equal(await refusedUpgradeStatus(harness.gateway.url), 502);
    });

    it("answers 502 when $connect returns nothing at all", async () => {
      await harness.start((i) => ({ $connect: i.route(() => undefined) }));
      assert.equal(await refusedUpgradeStatus(harness.gateway.url), 502);
    });

    it("connects every upgrade when there is no $connect route", async () => {
      await harness.start((i) => ({ $default: i.route() }));
      const client = await harness.connect();
      assert.ok(client.isOpen);
      assert.equal(harness.gateway.connectionIds().length, 1);
    });

    it("answers 403 to an upgrade on another path than /<stage>", async () => {
      await harness.start(chatRoutes);
      assert.equal(await refusedUpgradeStatus(harness.gateway.url.replace(/\/dev$/, "/prod")), 403);
      assert.equal(harness.integrations.count("$connect"), 0);
    });

    it("answers 400 to a handshake the WebSocket protocol refuses, without running $connect", async () => {
      await harness.start(chatRoutes);
      const url = new URL(harness.gateway.url);
      const handshake = {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      };
      for (const headers of [
        { ...handshake, "Sec-WebSocket-Version": "7" },
        { ...handshake, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "not-a-key" },
      ]) {
        const request = http.get({
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          headers,
        });
        const [response] = (await within(
          PROMPTLY_MS,
          "the answer to a handshake with bad headers",
          once(request, "response"),
        )) as [http.IncomingMessage];
        response.resume();
        assert.equal(response.statusCode, 400, JSON.stringify(headers));
      }
      assert.equal(harness.integrations.count("$connect"), 0);
      assert.deepEqual(harness.gateway.connectionIds(), []);
    });

    it("selects the subprotocol that $connect returns in Sec-WebSocket-Protocol", async () => {
      await harness.start((i) => ({
        $connect: i.route(() => ({
          statusCode: 200,
          headers: { "Sec-WebSocket-Protocol": "chat.v2" },
        })),
      }));
      const client = await harness.connect(undefined, { protocols: ["chat.v1", "chat.v2"] });
      assert.equal(client.socket.protocol, "chat.v2");
    });

    it("sends no subprotocol when $connect chooses none, so a client that asked for one gives up", async () => {
      await harness.start(chatRoutes);
      await assert.rejects(
        TestClient.connect(harness.gateway.url, { protocols: ["chat.v1"] }),
        /no subprotocol/,
      );
    });
  });

  describe("upgrades that do not end connected: no record without $disconnect, and a log line", () => {
    const HANDSHAKE = {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
    };

    /** Sends an upgrade request as given and resolves with the status it is answered with. */
    async function upgradeStatus(
      method: string,
      headers: Record<string, string>,
      path = new URL(harness.gateway.url).pathname,
    ): Promise<number> {
      const url = new URL(harness.gateway.url);
      const request = http.request({ host: url.hostname, port: url.port, path, method, headers });
      request.on("error", () => {});
      request.end();
      const [response] = (await within(
        PROMPTLY_MS,
        `the answer to a ${method} upgrade`,
        Promise.race([once(request, "response"), once(request, "upgrade")]),
      )) as [http.IncomingMessage];
      response.resume();
      return response.statusCode ?? 0;
    }

    it("refuses what ws would refuse after $connect (method, subprotocol syntax) before running it", async () => {
      const log: string[] = [];
      await harness.start(chatRoutes, { log: (line) => log.push(line) });
      const cases: Array<[string, Record<string, string>, number, RegExp]> = [
        ["POST", HANDSHAKE, 405, /method is not GET/],
        ["PUT", HANDSHAKE, 405, /method is not GET/],
        ["GET", { ...HANDSHAKE, "Sec-WebSocket-Protocol": "" }, 400, /Sec-WebSocket-Protocol/],
        ["GET", { ...HANDSHAKE, "Sec-WebSocket-Protocol": "a,,b" }, 400, /Sec-WebSocket-Protocol/],
        [
          "GET",
          { ...HANDSHAKE, "Sec-WebSocket-Protocol": "chat v1" },
          400,
          /Sec-WebSocket-Protocol/,
        ],
        ["GET", { ...HANDSHAKE, "Sec-WebSocket-Protocol": "a, a" }, 400, /Sec-WebSocket-Protocol/],
        ["GET", { ...HANDSHAKE, "Sec-WebSocket-Protocol": "é" }, 400, /Sec-WebSocket-Protocol/],
        ["GET", { ...HANDSHAKE, "Sec-WebSocket-Version": "7" }, 400, /Sec-WebSocket-Version/],
        ["GET", { ...HANDSHAKE, "Sec-WebSocket-Key": "short" }, 400, /Sec-WebSocket-Key/],
      ];
      for (const [method, headers, status, reason] of cases) {
        const what = `${method} ${JSON.stringify(headers)}`;
        assert.equal(await upgradeStatus(method, headers), status, what);
        const entry = JSON.parse(log.pop() ?? "{}") as Record<string, unknown>;
        assert.deepEqual([entry.event, entry.status], ["connect_refused", status], what);
        assert.match(String(entry.reason), reason, what);
      }
      assert.equal(harness.integrations.count("$connect"), 0);
      assert.deepEqual(harness.gateway.connectionIds(), []);
    });

    it("answers a well-formed subprotocol list and connects", async () => {
      await harness.start((i) => ({
        $connect: i.route(() => ({ statusCode: 200, headers: { "Sec-WebSocket-Protocol": "b" } })),
      }));
      const client = await harness.connect(undefined, { protocols: ["a", "b", "c.v1"] });
      assert.equal(client.socket.protocol, "b");
    });

    it("logs a refused path with its status and no part of the URL", async () => {
      const log: string[] = [];
      await harness.start(chatRoutes, { log: (line) => log.push(line) });
      assert.equal(await upgradeStatus("GET", HANDSHAKE, "/prod?token=secret"), 403);
      assert.deepEqual(log, [
        '{"event":"connect_refused","status":403,"reason":"not this API\'s stage path"}',
      ]);
    });

    it("runs $disconnect and logs it when the client half-closes while $connect runs", async () => {
      const log: string[] = [];
      const { released, release } = latch("$connect");
      await harness.start(
        (i) => ({
          $connect: i.route(async () => {
            await released;
            return { statusCode: 200 };
          }),
          $disconnect: i.route(),
        }),
        { log: (line) => log.push(line) },
      );
      const url = new URL(harness.gateway.url);
      const socket = net.connect(Number(url.port), url.hostname);
      socket.on("error", () => {});
      socket.write(
        `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          Object.entries(HANDSHAKE)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join("") +
          "\r\n",
      );
      const { connectionId } = (await harness.integrations.next("$connect")).requestContext;
      socket.end(); // FIN: the client sends nothing more, and will read nothing
      release();
      const event = await harness.integrations.next("$disconnect");
      assert.equal(event.requestContext.connectionId, connectionId);
      assert.equal(event.requestContext.disconnectStatusCode, 1006);
      assert.deepEqual(harness.gateway.connectionIds(), []);
      assertLogged(log, { event: "disconnect", connectionId, code: 1006 });
      socket.destroy();
    });

    it("lets go of the socket of a client that left during $connect, so that close() finishes", async () => {
      const log: string[] = [];
      const { released, release } = latch("$connect");
      await harness.start(
        (i) => ({
          $connect: i.route(async () => {
            await released;
            return { statusCode: 200 };
          }),
          $disconnect: i.route(),
        }),
        { log: (line) => log.push(line) },
      );
      const url = new URL(harness.gateway.url);
      const socket = net.connect(Number(url.port), url.hostname);
      socket.on("error", () => {});
      socket.write(
        `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          Object.entries(HANDSHAKE)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join("") +
          "\r\n",
        () => socket.destroy(),
      );
      // The client leaves as soon as its request is out, while the gateway still reads it.
      const { connectionId } = (await harness.integrations.next("$connect")).requestContext;
      // Time for the gateway to read the client's FIN (if it has not, ws opens and closes the
      // connection instead: the same $disconnect, and this test still holds).
      await new Promise((resolve) => setTimeout(resolve, 200));
      release();
      await harness.integrations.next("$disconnect");
      assertLogged(log, { event: "disconnect", connectionId, code: 1006 });
      await within(PROMPTLY_MS, "the gateway to close", harness.gateway.close());
    });

    it("logs the $disconnect it runs for a client that gave up while $connect ran", async () => {
      const log: string[] = [];
      const { released, release } = latch("$connect");
      await harness.start(
        (i) => ({
          $connect: i.route(async () => {
            await released;
            return { statusCode: 200 };
          }),
          $disconnect: i.route(),
        }),
        { log: (line) => log.push(line) },
      );
      const socket = new WebSocket(harness.gateway.url);
      socket.on("error", () => {});
      const { connectionId } = (await harness.integrations.next("$connect")).requestContext;
      const gone = new Promise((resolve) => socket.once("close", resolve));
      socket.terminate();
      await within(PROMPTLY_MS, "the client's socket to close", gone);
      release();
      await harness.integrations.next("$disconnect");
      assertLogged(log, { event: "disconnect", connectionId, code: 1006 });
    });
  });

  describe("pings", () => {
    it("answers a burst of 1,000 pings with 1,000 pongs and keeps the connection", async () => {
      await harness.start(chatRoutes);
      const { client } = await harness.connectWithId();
      let pongs = 0;
      const allAnswered = new Promise<void>((resolve) =>
        client.socket.on("pong", () => ++pongs === 1000 && resolve()),
      );
      for (let i = 0; i < 1000; i++) client.socket.ping(String(i));
      await within(PROMPTLY_MS, "1,000 pongs", allAnswered);
      assert.ok(client.isOpen);
      await client.send(JSON.stringify({ action: "sendmessage" }));
      await harness.integrations.next("sendmessage");
    });
  });

  describe("the integration timeout", () => {
    it("answers $connect that outlasts it with 504, and records no connection", async () => {
      const { released, release } = latch("$connect");
      await harness.start(
        (i) => ({
          $connect: i.route(async () => {
            await released;
            return { statusCode: 200 };
          }),
        }),
        { integrationTimeoutMs: 100 },
      );
      try {
        assert.equal(await refusedUpgradeStatus(harness.gateway.url), 504);
        assert.deepEqual(harness.gateway.connectionIds(), []);
      } finally {
        release();
      }
    });

    it('answers a message route that outlasts it with "Endpoint request timed out" and stays connected', async () => {
      const { released, release } = latch("sendmessage");
      await harness.start(
        (i) => ({
          $connect: i.route(),
          sendmessage: i.route(async () => {
            await released;
            return { statusCode: 200 };
          }),
        }),
        { integrationTimeoutMs: 100 },
      );
      try {
        const { client, id } = await harness.connectWithId();
        await client.send(JSON.stringify({ action: "sendmessage" }));
        const event = await harness.integrations.next("sendmessage");
        assert.equal(
          await within(PROMPTLY_MS, "the timeout frame", client.next()),
          `{"message": "Endpoint request timed out", "connectionId":"${id}", "requestId":"${event.requestContext.requestId}"}`,
        );
        assert.ok(client.isOpen);
      } finally {
        release();
      }
    });
  });

  describe("no matching route and no $default", () => {
    it("answers API Gateway's Forbidden frame and keeps the connection open", async () => {
      await harness.start((i) => ({ $connect: i.route(), sendmessage: i.route() }));
      const { client, id } = await harness.connectWithId();
      await client.send(JSON.stringify({ action: "shout" }));
      const frame = await client.next();
      const match = FORBIDDEN_FRAME.exec(frame);
      assert.ok(match, `unexpected frame ${frame}`);
      assert.equal(match[1], id);
      assert.notEqual(match[2], id);
      assert.ok(client.isOpen);
      await client.send(JSON.stringify({ action: "sendmessage" }));
      assert.equal(
        (await harness.integrations.next("sendmessage")).requestContext.connectionId,
        id,
      );
    });
  });

  describe("an integration that fails", () => {
    it("answers an Internal server error frame when the handler throws, with the message's requestId, and stays connected", async () => {
      await harness.start((i) => ({
        $connect: i.route(),
        sendmessage: i.route(() => {
          throw new Error("handler bug");
        }),
        $default: i.route(),
      }));
      const { client, id } = await harness.connectWithId();
      await client.send(JSON.stringify({ action: "sendmessage" }));
      const event = await harness.integrations.next("sendmessage");
      const match = INTERNAL_ERROR_FRAME.exec(await client.next());
      assert.ok(match);
      assert.equal(match[1], id);
      assert.equal(match[2], event.requestContext.requestId);
      assert.ok(client.isOpen);
    });

    it("sends nothing when the handler returns a non-2xx statusCode (one-way route)", async () => {
      await harness.start((i) => ({
        $connect: i.route(),
        sendmessage: i.route(() => ({ statusCode: 500, body: "nope" })),
        $default: i.route((event) => {
          harness.gateway.sendDirect(event.requestContext.connectionId, "from $default");
          return { statusCode: 200 };
        }),
      }));
      const { client } = await harness.connectWithId();
      await client.send(JSON.stringify({ action: "sendmessage" }));
      await harness.integrations.next("sendmessage");
      await client.send("not json");
      // Frames arrive in order: had the 500 produced a frame, it would come first.
      assert.equal(await client.next(), "from $default");
    });
  });

  describe("binary frames", () => {
    it("closes with 1003 on a binary frame", async () => {
      await harness.start(chatRoutes);
      await harness.assertClosedWith(
        (client) => client.send(Buffer.from('{"action":"sendmessage"}'), { binary: true }),
        1003,
      );
    });
  });

  describe("idle timeout and maximum connection duration", () => {
    it("closes an idle connection (1001 Going away) and runs $disconnect", async () => {
      await harness.start(chatRoutes, { idleTimeoutMs: 200 });
      const { client, id } = await harness.connectWithId();
      assert.deepEqual(await client.closed, { code: 1001, reason: "Going away" });
      const disconnect = await harness.integrations.next("$disconnect");
      assert.equal(disconnect.requestContext.connectionId, id);
      assert.equal(disconnect.requestContext.disconnectStatusCode, 1001);
      assert.equal(disconnect.requestContext.disconnectReason, "Going away");
    });

    it("counts messages in either direction as activity", async () => {
      const idleTimeoutMs = 1000;
      await harness.start(chatRoutes, { idleTimeoutMs });
      const { client: talker } = await harness.connectWithId();
      const { client: listener, id: listenerId } = await harness.connectWithId();
      const started = Date.now();
      // The talker sends and the listener is posted to, every 100 ms, for twice the timeout.
      const keepAlive = setInterval(() => {
        void talker.send("ping");
        harness.gateway.sendDirect(listenerId, "pong");
      }, 100);
      try {
        await new Promise((resolve) => setTimeout(resolve, 2 * idleTimeoutMs));
        assert.ok(talker.isOpen && listener.isOpen, "traffic kept both connections open");
      } finally {
        clearInterval(keepAlive);
      }
      await Promise.all([talker.closed, listener.closed]);
      assert.ok(Date.now() - started >= 3 * idleTimeoutMs - 150);
    });

    it("does not count protocol-level pings as activity (API Gateway ignores ping/pong for idleness)", async () => {
      await harness.start(chatRoutes, { idleTimeoutMs: 300 });
      const { client } = await harness.connectWithId();
      const pinging = setInterval(() => client.socket.ping(), 50);
      try {
        assert.equal((await client.closed).code, 1001);
      } finally {
        clearInterval(pinging);
      }
    });

    it("closes a connection at the maximum duration however busy it is, and runs $disconnect", async () => {
      await harness.start(chatRoutes, { maxConnectionMs: 300 });
      const started = Date.now();
      const { client, id } = await harness.connectWithId();
      const keepBusy = setInterval(() => void client.send("still here").catch(() => {}), 50);
      try {
        assert.equal((await client.closed).code, 1001);
      } finally {
        clearInterval(keepBusy);
      }
      // Timers may fire a few ms early against the wall clock.
      assert.ok(Date.now() - started >= 280);
      assert.equal(
        (await harness.integrations.next("$disconnect")).requestContext.connectionId,
        id,
      );
    });
  });

  describe("the benchmark's direct paths and shutdown", () => {
    it("lists open connections and writes straight to one socket or to all", async () => {
      await harness.start(chatRoutes);
      const a = await harness.connectWithId();
      const b = await harness.connectWithId();
      assert.deepEqual(harness.gateway.connectionIds().sort(), [a.id, b.id].sort());
      assert.equal(harness.gateway.sendDirect(a.id, "to a"), true);
      assert.equal(harness.gateway.sendDirect("R1kmxc2VNjMCFIA=", "to nobody"), false);
      assert.equal(harness.gateway.sendToAll("to all"), 2);
      assert.deepEqual(
        [await a.client.next(), await a.client.next(), await b.client.next()],
        ["to a", "to all", "to all"],
      );
    });

    it('emits "connect" when a connection opens and "disconnect" only after $disconnect has run', async () => {
      const { released: disconnectHeld, release: finishDisconnect } = latch("$disconnect");
      await harness.start((i) => ({
        $connect: i.route(),
        $disconnect: i.route(() => disconnectHeld.then(() => ({ statusCode: 200 }))),
      }));
      const connected = once(harness.gateway, "connect");
      const client = await harness.connect();
      const [id] = (await within(PROMPTLY_MS, 'the gateway\'s "connect" event', connected)) as [
        string,
      ];
      assert.deepEqual(harness.gateway.connectionIds(), [id]);
      let disconnected = false;
      const disconnectedEvent = once(harness.gateway, "disconnect").then(
        (args) => ((disconnected = true), args),
      );
      await client.close(1000);
      await harness.integrations.next("$disconnect");
      assert.equal(disconnected, false, "not before $disconnect finished");
      finishDisconnect();
      assert.deepEqual(
        await within(PROMPTLY_MS, 'the gateway\'s "disconnect" event', disconnectedEvent),
        [id, 1000],
      );
    });

    it("close() closes every connection with 1001 and runs $disconnect for each before resolving", async () => {
      await harness.start(chatRoutes);
      const connected = [
        await harness.connectWithId(),
        await harness.connectWithId(),
        await harness.connectWithId(),
      ];
      await within(PROMPTLY_MS, "the gateway to close", harness.gateway.close());
      assert.equal(harness.integrations.count("$disconnect"), 3);
      for (const { client } of connected) {
        assert.equal((await client.closed).code, 1001);
        assert.equal(client.socket.readyState, WebSocket.CLOSED);
      }
    });
  });
});

/** `log` holds a JSON line with (at least) `fields`. */
function assertLogged(log: string[], fields: Record<string, unknown>): void {
  const entries = log.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.ok(
    entries.some((entry) => Object.entries(fields).every(([key, value]) => entry[key] === value)),
    `no ${JSON.stringify(fields)} in:\n${log.join("\n")}`,
  );
}
