import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { strict as assert } from "assert";
import { once } from "events";
import * as http from "http";
import { WebSocket } from "ws";
import { LocalGateway, LocalGatewayOptions, RouteInvoker } from "../local/gateway";
import { WebSocketEvent } from "../local/gateway-events";
import { TestClient, refusedUpgradeStatus } from "./support/local-clients";

/** Every event the gateway sent to a route, with a way to wait for the next one per route. */
class Integrations {
  readonly events: WebSocketEvent[] = [];
  private readonly waiters: Array<{ routeKey: string; resolve: (event: WebSocketEvent) => void }> =
    [];

  /** A route integration that records its event, then answers with `answer(event)`. */
  route(answer: (event: WebSocketEvent) => unknown = () => ({ statusCode: 200 })): RouteInvoker {
    return async (event) => {
      this.events.push(event);
      const index = this.waiters.findIndex((w) => w.routeKey === event.requestContext.routeKey);
      if (index >= 0) this.waiters.splice(index, 1)[0].resolve(event);
      return answer(event);
    };
  }

  /** The next event for `routeKey` not yet taken (including ones already received). */
  next(routeKey: string): Promise<WebSocketEvent> {
    const index = this.events.findIndex(
      (e) => e.requestContext.routeKey === routeKey && !this.taken.has(e),
    );
    if (index >= 0) {
      this.taken.add(this.events[index]);
      return Promise.resolve(this.events[index]);
    }
    return new Promise((resolve) =>
      this.waiters.push({
        routeKey,
        resolve: (event) => {
          this.taken.add(event);
          resolve(event);
        },
      }),
    );
  }

  count(routeKey: string): number {
    return this.events.filter((e) => e.requestContext.routeKey === routeKey).length;
  }

  private readonly taken = new Set<WebSocketEvent>();
}

const FORBIDDEN_FRAME =
  /^\{"message": "Forbidden", "connectionId":"([A-Za-z0-9+/]{15}=)", "requestId":"([A-Za-z0-9+/]{15}=)"\}$/;
const INTERNAL_ERROR_FRAME =
  /^\{"message": "Internal server error", "connectionId":"([A-Za-z0-9+/]{15}=)", "requestId":"([A-Za-z0-9+/]{15}=)"\}$/;
const ID = /^[A-Za-z0-9+/]{15}=$/;

describe("local gateway: API Gateway WebSocket fidelity", function () {
  let gateway: LocalGateway | undefined;
  let integrations: Integrations;
  const clients: TestClient[] = [];

  async function start(
    routes: (i: Integrations) => Record<string, RouteInvoker>,
    options: Partial<LocalGatewayOptions> = {},
  ): Promise<LocalGateway> {
    integrations = new Integrations();
    gateway = await LocalGateway.start({
      port: 0,
      stage: "dev",
      routeSelectionExpression: "$request.body.action",
      routes: routes(integrations),
      ...options,
    });
    return gateway;
  }

  /** The usual chat routes, each recording its events. */
  const chatRoutes = (i: Integrations) => ({
    $connect: i.route(),
    $disconnect: i.route(),
    sendmessage: i.route(),
    $default: i.route(),
  });

  async function connect(
    url = gateway!.url,
    options?: Parameters<typeof TestClient.connect>[1],
  ): Promise<TestClient> {
    const client = await TestClient.connect(url, options);
    clients.push(client);
    return client;
  }

  /** Connects and returns the client with its connection id, from the $connect event. */
  async function connectWithId(): Promise<{ client: TestClient; id: string }> {
    const client = await connect();
    const event = await integrations.next("$connect");
    return { client, id: event.requestContext.connectionId };
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await gateway?.close();
    gateway = undefined;
  });

  describe("1. the upgrade waits for $connect", () => {
    it("holds the handshake until $connect answers 2xx, and the connecting id is Gone meanwhile", async () => {
      const { released, release } = latch();
      await start((i) => ({
        $connect: i.route(async () => {
          await released;
          return { statusCode: 200 };
        }),
      }));
      let opened = false;
      const connecting = connect().then((client) => {
        opened = true;
        return client;
      });
      const event = await integrations.next("$connect");
      try {
        const get = await fetch(
          `${gateway!.managementEndpoint}/@connections/${encodeURIComponent(event.requestContext.connectionId)}`,
        );
        assert.equal(get.status, 410);
        assert.equal(get.headers.get("x-amzn-errortype"), "GoneException");
        assert.equal(opened, false);
      } finally {
        release(); // even on failure, so that the gateway can close
      }
      const client = await connecting;
      assert.ok(client.isOpen);
      assert.deepEqual(gateway!.connectionIds(), [event.requestContext.connectionId]);
    });

    it("runs $disconnect (1006) when the client gave up while a successful $connect was running", async () => {
      const { released, release } = latch();
      await start((i) => ({
        $connect: i.route(async () => {
          await released;
          return { statusCode: 200 };
        }),
        $disconnect: i.route(),
      }));
      const socket = new WebSocket(gateway!.url);
      socket.on("error", () => {});
      const { connectionId } = (await integrations.next("$connect")).requestContext;
      const gone = new Promise((resolve) => socket.once("close", resolve));
      socket.terminate();
      await gone;
      release();
      const event = await integrations.next("$disconnect");
      assert.equal(event.requestContext.connectionId, connectionId);
      assert.equal(event.requestContext.disconnectStatusCode, 1006);
      assert.deepEqual(gateway!.connectionIds(), []);
    });

    for (const status of [401, 403, 429, 500]) {
      it(`answers the upgrade with ${status} when $connect returns statusCode ${status}, and runs no $disconnect`, async () => {
        await start((i) => ({
          $connect: i.route(() => ({ statusCode: status })),
          $disconnect: i.route(),
        }));
        assert.equal(await refusedUpgradeStatus(gateway!.url), status);
        assert.deepEqual(gateway!.connectionIds(), []);
        assert.equal(integrations.count("$disconnect"), 0);
      });
    }

    it("answers 502 when $connect throws", async () => {
      await start((i) => ({
        $connect: i.route(() => {
          throw new Error("boom");
        }),
      }));
      assert.equal(await refusedUpgradeStatus(gateway!.url), 502);
    });

    it("answers 502 when $connect returns no statusCode", async () => {
      await start((i) => ({ $connect: i.route(() => ({ body: "Connected" })) }));
      assert.equal(await refusedUpgradeStatus(gateway!.url), 502);
    });

    it("answers 502 when $connect returns nothing at all", async () => {
      await start((i) => ({ $connect: i.route(() => undefined) }));
      assert.equal(await refusedUpgradeStatus(gateway!.url), 502);
    });

    it("connects every upgrade when there is no $connect route", async () => {
      await start((i) => ({ $default: i.route() }));
      const client = await connect();
      assert.ok(client.isOpen);
      assert.equal(gateway!.connectionIds().length, 1);
    });

    it("answers 403 to an upgrade on another path than /<stage>", async () => {
      await start(chatRoutes);
      assert.equal(await refusedUpgradeStatus(gateway!.url.replace(/\/dev$/, "/prod")), 403);
      assert.equal(integrations.count("$connect"), 0);
    });

    it("answers 400 to a handshake the WebSocket protocol refuses, without running $connect", async () => {
      await start(chatRoutes);
      const url = new URL(gateway!.url);
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
        const [response] = (await once(request, "response")) as [http.IncomingMessage];
        response.resume();
        assert.equal(response.statusCode, 400, JSON.stringify(headers));
      }
      assert.equal(integrations.count("$connect"), 0);
      assert.deepEqual(gateway!.connectionIds(), []);
    });

    it("selects the subprotocol that $connect returns in Sec-WebSocket-Protocol", async () => {
      await start((i) => ({
        $connect: i.route(() => ({
          statusCode: 200,
          headers: { "Sec-WebSocket-Protocol": "chat.v2" },
        })),
      }));
      const client = await connect(undefined, { protocols: ["chat.v1", "chat.v2"] });
      assert.equal(client.socket.protocol, "chat.v2");
    });

    it("sends no subprotocol when $connect chooses none, so a client that asked for one gives up", async () => {
      await start(chatRoutes);
      await assert.rejects(
        TestClient.connect(gateway!.url, { protocols: ["chat.v1"] }),
        /no subprotocol/,
      );
    });
  });

  describe("2. route selection", () => {
    it("routes on the configured expression's value, and the handler sees that routeKey", async () => {
      await start(chatRoutes);
      const { client } = await connectWithId();
      const body = JSON.stringify({ action: "sendmessage", data: "hi" });
      await client.send(body);
      const event = await integrations.next("sendmessage");
      assert.equal(event.requestContext.routeKey, "sendmessage");
      assert.equal(event.body, body);
    });

    const toDefault: Array<[string, string]> = [
      ["a body that is not JSON", "hello"],
      ["an empty body", ""],
      ["JSON without the field", JSON.stringify({ data: "x" })],
      ["an empty value", JSON.stringify({ action: "" })],
      ["a null value", JSON.stringify({ action: null })],
      ["a value that matches no route", JSON.stringify({ action: "shout" })],
      ["a JSON array", JSON.stringify(["sendmessage"])],
      ["a reserved route key as value", JSON.stringify({ action: "$disconnect" })],
    ];
    for (const [what, body] of toDefault) {
      it(`sends ${what} to $default with routeKey "$default"`, async () => {
        await start(chatRoutes);
        const { client } = await connectWithId();
        await client.send(body);
        const event = await integrations.next("$default");
        assert.equal(event.requestContext.routeKey, "$default");
        assert.equal(event.body, body);
        assert.equal(integrations.count("sendmessage"), 0);
        assert.ok(client.isOpen);
      });
    }

    it("evaluates nested paths and stringifies non-string values", async () => {
      await start(
        (i) => ({
          $connect: i.route(),
          "7": i.route(),
          true: i.route(),
          '{"x":1}': i.route(),
          $default: i.route(),
        }),
        {
          routeSelectionExpression: "$request.body.route.key",
        },
      );
      const { client } = await connectWithId();
      await client.send(JSON.stringify({ route: { key: 7 } }));
      assert.equal((await integrations.next("7")).requestContext.routeKey, "7");
      await client.send(JSON.stringify({ route: { key: true } }));
      assert.equal((await integrations.next("true")).requestContext.routeKey, "true");
      await client.send(JSON.stringify({ route: { key: { x: 1 } } }));
      assert.equal((await integrations.next('{"x":1}')).requestContext.routeKey, '{"x":1}');
    });

    it('routes {"message":"pushmessage"} with $request.body.message, and the action field means nothing', async () => {
      await start(
        (i) => ({
          $connect: i.route(),
          pushmessage: i.route(),
          sendmessage: i.route(),
          $default: i.route(),
        }),
        {
          routeSelectionExpression: "$request.body.message",
        },
      );
      const { client } = await connectWithId();
      await client.send(JSON.stringify({ message: "pushmessage", data: "hi" }));
      assert.equal((await integrations.next("pushmessage")).requestContext.routeKey, "pushmessage");
      await client.send(JSON.stringify({ action: "sendmessage", data: "hi" }));
      assert.equal((await integrations.next("$default")).requestContext.routeKey, "$default");
      assert.equal(integrations.count("sendmessage"), 0);
    });

    it("refuses to start with an expression it cannot evaluate", async () => {
      await assert.rejects(
        start(chatRoutes, { routeSelectionExpression: "$request.header.action" }),
        /route selection expression/,
      );
    });
  });

  describe("3. no matching route and no $default", () => {
    it("answers API Gateway's Forbidden frame and keeps the connection open", async () => {
      await start((i) => ({ $connect: i.route(), sendmessage: i.route() }));
      const { client, id } = await connectWithId();
      await client.send(JSON.stringify({ action: "shout" }));
      const frame = await client.next();
      const match = FORBIDDEN_FRAME.exec(frame);
      assert.ok(match, `unexpected frame ${frame}`);
      assert.equal(match[1], id);
      assert.notEqual(match[2], id);
      assert.ok(client.isOpen);
      await client.send(JSON.stringify({ action: "sendmessage" }));
      assert.equal((await integrations.next("sendmessage")).requestContext.connectionId, id);
    });
  });

  describe("4. an integration that fails", () => {
    it("answers an Internal server error frame when the handler throws, with the message's requestId, and stays connected", async () => {
      await start((i) => ({
        $connect: i.route(),
        sendmessage: i.route(() => {
          throw new Error("handler bug");
        }),
        $default: i.route(),
      }));
      const { client, id } = await connectWithId();
      await client.send(JSON.stringify({ action: "sendmessage" }));
      const event = await integrations.next("sendmessage");
      const match = INTERNAL_ERROR_FRAME.exec(await client.next());
      assert.ok(match);
      assert.equal(match[1], id);
      assert.equal(match[2], event.requestContext.requestId);
      assert.ok(client.isOpen);
    });

    it("sends nothing when the handler returns a non-2xx statusCode (one-way route)", async () => {
      await start((i) => ({
        $connect: i.route(),
        sendmessage: i.route(() => ({ statusCode: 500, body: "nope" })),
        $default: i.route((event) => {
          gateway!.sendDirect(event.requestContext.connectionId, "from $default");
          return { statusCode: 200 };
        }),
      }));
      const { client } = await connectWithId();
      await client.send(JSON.stringify({ action: "sendmessage" }));
      await integrations.next("sendmessage");
      await client.send("not json");
      // Frames arrive in order: had the 500 produced a frame, it would come first.
      assert.equal(await client.next(), "from $default");
    });
  });

  describe("5. size limits and binary frames", () => {
    async function closedWith(
      send: (client: TestClient) => Promise<void>,
      code: number,
    ): Promise<void> {
      const { client, id } = await connectWithId();
      await send(client).catch(() => {}); // the server may close mid-send
      assert.equal((await client.closed).code, code);
      const disconnect = await integrations.next("$disconnect");
      assert.equal(disconnect.requestContext.connectionId, id);
      assert.equal(disconnect.requestContext.disconnectStatusCode, code);
      assert.equal(
        integrations.count("sendmessage") + integrations.count("$default"),
        0,
        "no handler ran",
      );
    }
    const message = (bytes: number) =>
      JSON.stringify({ action: "sendmessage", data: "x".repeat(bytes - 34) });

    it("accepts a 32 KB frame", async () => {
      await start(chatRoutes);
      const { client } = await connectWithId();
      const body = message(32 * 1024);
      assert.equal(Buffer.byteLength(body), 32 * 1024);
      await client.send(body);
      assert.equal((await integrations.next("sendmessage")).body, body);
    });

    it("closes with 1009 on a frame over 32 KB, even when the message is under 128 KB", async () => {
      await start(chatRoutes);
      await closedWith((client) => client.send(message(32 * 1024 + 1)), 1009);
    });

    it("accepts a 128 KB message sent as 32 KB fragments", async () => {
      await start(chatRoutes);
      const { client } = await connectWithId();
      const body = message(128 * 1024);
      await sendFragmented(client, body, 32 * 1024);
      assert.equal((await integrations.next("sendmessage")).body, body);
    });

    it("closes with 1009 on a message over 128 KB, even in frames under 32 KB", async () => {
      await start(chatRoutes);
      await closedWith(
        (client) => sendFragmented(client, message(128 * 1024 + 1), 16 * 1024),
        1009,
      );
    });

    it("closes with 1003 on a binary frame", async () => {
      await start(chatRoutes);
      await closedWith(
        (client) => client.send(Buffer.from('{"action":"sendmessage"}'), { binary: true }),
        1003,
      );
    });
  });

  describe("6. idle timeout and maximum connection duration", () => {
    it("closes an idle connection (1001 Going away) and runs $disconnect", async () => {
      await start(chatRoutes, { idleTimeoutMs: 200 });
      const { client, id } = await connectWithId();
      assert.deepEqual(await client.closed, { code: 1001, reason: "Going away" });
      const disconnect = await integrations.next("$disconnect");
      assert.equal(disconnect.requestContext.connectionId, id);
      assert.equal(disconnect.requestContext.disconnectStatusCode, 1001);
      assert.equal(disconnect.requestContext.disconnectReason, "Going away");
    });

    it("counts messages in either direction as activity", async () => {
      const idleTimeoutMs = 1000;
      await start(chatRoutes, { idleTimeoutMs });
      const { client: talker } = await connectWithId();
      const { client: listener, id: listenerId } = await connectWithId();
      const started = Date.now();
      // The talker sends and the listener is posted to, every 100 ms, for twice the timeout.
      const keepAlive = setInterval(() => {
        void talker.send("ping");
        gateway!.sendDirect(listenerId, "pong");
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
      await start(chatRoutes, { idleTimeoutMs: 300 });
      const { client } = await connectWithId();
      const pinging = setInterval(() => client.socket.ping(), 50);
      try {
        assert.equal((await client.closed).code, 1001);
      } finally {
        clearInterval(pinging);
      }
    });

    it("closes a connection at the maximum duration however busy it is, and runs $disconnect", async () => {
      await start(chatRoutes, { maxConnectionMs: 300 });
      const started = Date.now();
      const { client, id } = await connectWithId();
      const keepBusy = setInterval(() => void client.send("still here").catch(() => {}), 50);
      try {
        assert.equal((await client.closed).code, 1001);
      } finally {
        clearInterval(keepBusy);
      }
      // Timers may fire a few ms early against the wall clock.
      assert.ok(Date.now() - started >= 280);
      assert.equal((await integrations.next("$disconnect")).requestContext.connectionId, id);
    });
  });

  describe("7. events", () => {
    it("CONNECT: requestContext, the client's headers plus X-Forwarded-*, and query parameters when present", async () => {
      await start(chatRoutes);
      await connect(`${gateway!.url}?token=abc&room=a&room=b`, {
        headers: { "User-Agent": "fidelity-test/1.0", "X-Custom-Header": "custom" },
      });
      const event = await integrations.next("$connect");
      const context = event.requestContext;
      assert.equal(context.routeKey, "$connect");
      assert.equal(context.eventType, "CONNECT");
      assert.equal(context.messageDirection, "IN");
      assert.match(context.connectionId, ID);
      assert.match(context.requestId, ID);
      assert.match(context.extendedRequestId, ID);
      assert.equal(context.stage, "dev");
      assert.equal(context.apiId, gateway!.apiId);
      assert.equal(context.domainName, "127.0.0.1");
      assert.deepEqual(context.identity, { sourceIp: "127.0.0.1", userAgent: "fidelity-test/1.0" });
      assert.ok(Math.abs(context.connectedAt - Date.now()) < 5000);
      assert.ok(context.requestTimeEpoch >= context.connectedAt);
      assert.match(context.requestTime, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      assert.equal(context.requestTime, formatUtc(context.requestTimeEpoch));
      assert.equal(context.messageId, undefined);

      assert.equal(event.headers!["X-Custom-Header"], "custom");
      assert.equal(event.headers!["Sec-WebSocket-Version"], "13");
      assert.ok(event.headers!["Sec-WebSocket-Key"]);
      assert.equal(event.headers!["X-Forwarded-For"], "127.0.0.1");
      assert.equal(event.headers!["X-Forwarded-Port"], String(gateway!.port));
      assert.equal(event.headers!["X-Forwarded-Proto"], "http");
      assert.match(event.headers!["X-Amzn-Trace-Id"], /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      assert.deepEqual(event.multiValueHeaders!["X-Custom-Header"], ["custom"]);
      assert.deepEqual(event.queryStringParameters, { token: "abc", room: "b" });
      assert.deepEqual(event.multiValueQueryStringParameters, { token: ["abc"], room: ["a", "b"] });
      assert.equal(event.isBase64Encoded, false);
      assert.equal(event.body, undefined);
    });

    it("CONNECT without a query string has no query parameter fields at all", async () => {
      await start(chatRoutes);
      await connect();
      const event = await integrations.next("$connect");
      assert.ok(!("queryStringParameters" in event));
      assert.ok(!("multiValueQueryStringParameters" in event));
    });

    it("MESSAGE: the body as sent, isBase64Encoded false, a messageId, no headers, the connection's connectedAt", async () => {
      await start(chatRoutes);
      const { client } = await connectWithId();
      const connectEvent = integrations.events[0];
      const body = JSON.stringify({ action: "sendmessage", data: "héllo 👋" });
      await client.send(body);
      const event = await integrations.next("sendmessage");
      assert.equal(event.body, body);
      assert.equal(event.isBase64Encoded, false);
      assert.equal(event.headers, undefined);
      assert.equal(event.requestContext.eventType, "MESSAGE");
      assert.equal(event.requestContext.messageDirection, "IN");
      assert.match(event.requestContext.messageId!, ID);
      assert.equal(event.requestContext.connectionId, connectEvent.requestContext.connectionId);
      assert.equal(event.requestContext.connectedAt, connectEvent.requestContext.connectedAt);
      assert.notEqual(event.requestContext.requestId, connectEvent.requestContext.requestId);
    });

    it("DISCONNECT: the client's close code and reason, and AWS's few headers", async () => {
      await start(chatRoutes);
      const { client, id } = await connectWithId();
      await client.close(4001, "bye now");
      const event = await integrations.next("$disconnect");
      assert.equal(event.requestContext.eventType, "DISCONNECT");
      assert.equal(event.requestContext.connectionId, id);
      assert.equal(event.requestContext.disconnectStatusCode, 4001);
      assert.equal(event.requestContext.disconnectReason, "bye now");
      assert.deepEqual(event.headers, {
        Host: `127.0.0.1:${gateway!.port}`,
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
      });
      assert.deepEqual(event.multiValueHeaders!["x-api-key"], [""]);
    });

    it("DISCONNECT after a close without a code reports 1005", async () => {
      await start(chatRoutes);
      const { client } = await connectWithId();
      await client.close();
      assert.equal(
        (await integrations.next("$disconnect")).requestContext.disconnectStatusCode,
        1005,
      );
    });

    it("gives ids in API Gateway's form, some with the '/' and '+' that need URL-encoding", async () => {
      await start(chatRoutes);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await connectWithId()).id);
      for (const id of ids) assert.match(id, ID);
      assert.ok(
        ids.some((id) => id.includes("/") && id.includes("+")),
        ids.join(" "),
      );
      assert.equal(new Set(ids).size, ids.length);
    });
  });

  describe("8. the @connections API", () => {
    const at = (id: string) =>
      `${gateway!.managementEndpoint}/@connections/${encodeURIComponent(id)}`;

    it("POST delivers the raw body as a text frame and answers 200, whatever the signature", async () => {
      await start(chatRoutes);
      const { client, id } = await connectWithId();
      let binary: boolean | undefined;
      client.socket.once("message", (_data, isBinary) => (binary = isBinary));
      const response = await fetch(at(id), {
        method: "POST",
        body: '{"not":"parsed"} ✓',
        headers: { Authorization: "AWS4-HMAC-SHA256 Credential=garbage, Signature=nonsense" },
      });
      assert.equal(response.status, 200);
      assert.equal(await client.next(), '{"not":"parsed"} ✓');
      assert.equal(binary, false);
    });

    it("POST of exactly 128 KB is delivered; one byte more is 413 PayloadTooLargeException", async () => {
      await start(chatRoutes);
      const { client, id } = await connectWithId();
      const ok = await fetch(at(id), { method: "POST", body: "x".repeat(128 * 1024) });
      assert.equal(ok.status, 200);
      assert.equal((await client.next()).length, 128 * 1024);
      const tooBig = await fetch(at(id), { method: "POST", body: "x".repeat(128 * 1024 + 1) });
      assert.equal(tooBig.status, 413);
      assert.equal(tooBig.headers.get("x-amzn-errortype"), "PayloadTooLargeException");
      assert.ok(client.isOpen);
      assert.deepEqual(client.pending, []);
    });

    it("GET answers connectedAt, lastActiveAt and identity with ISO timestamps", async () => {
      await start(chatRoutes);
      const client = await connect(undefined, { headers: { "User-Agent": "fidelity-test/1.0" } });
      const id = (await integrations.next("$connect")).requestContext.connectionId;
      type Info = { connectedAt: string; lastActiveAt: string; identity: unknown };
      const first = (await (await fetch(at(id))).json()) as Info;
      assert.match(first.connectedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.equal(first.lastActiveAt, first.connectedAt);
      assert.deepEqual(first.identity, { sourceIp: "127.0.0.1", userAgent: "fidelity-test/1.0" });
      await new Promise((resolve) => setTimeout(resolve, 5)); // so that the clock moves on
      await client.send("activity");
      await integrations.next("$default");
      const second = (await (await fetch(at(id))).json()) as Info;
      assert.equal(second.connectedAt, first.connectedAt);
      assert.ok(Date.parse(second.lastActiveAt) > Date.parse(first.lastActiveAt));
    });

    it("DELETE answers 204, closes the connection and runs $disconnect", async () => {
      await start(chatRoutes);
      const { client, id } = await connectWithId();
      const response = await fetch(at(id), { method: "DELETE" });
      assert.equal(response.status, 204);
      assert.equal((await client.closed).code, 1000);
      const event = await integrations.next("$disconnect");
      assert.equal(event.requestContext.connectionId, id);
      assert.equal(event.requestContext.disconnectStatusCode, 1000);
    });

    it("answers 410 GoneException for unknown and closed connections", async () => {
      await start(chatRoutes);
      const { client, id } = await connectWithId();
      await client.close();
      await integrations.next("$disconnect");
      // The last one is in the base64url form also seen on AWS: well-formed, so Gone rather than 400.
      for (const gone of [id, "R1kmxc2VNjMCFIA=", "JC1dgf9yoAMCK-g="]) {
        for (const method of ["POST", "GET", "DELETE"]) {
          const response = await fetch(at(gone), {
            method,
            body: method === "POST" ? "x" : undefined,
          });
          assert.equal(response.status, 410, `${method} ${gone}`);
          assert.equal(response.headers.get("x-amzn-errortype"), "GoneException");
        }
      }
    });

    it("answers 400 BadRequestException for a malformed id", async () => {
      await start(chatRoutes);
      const response = await fetch(at("not-an-id"), { method: "POST", body: "x" });
      assert.equal(response.status, 400);
      assert.equal(response.headers.get("x-amzn-errortype"), "BadRequestException");
      assert.deepEqual(await response.json(), { message: "Invalid connectionId: not-an-id" });
    });

    it("answers 403 ForbiddenException when the id was not URL-encoded and its '/' split the path", async () => {
      await start(chatRoutes);
      const response = await fetch(
        `${gateway!.managementEndpoint}/@connections/abc/defghijklmnop=`,
        { method: "POST", body: "x" },
      );
      assert.equal(response.status, 403);
      assert.equal(response.headers.get("x-amzn-errortype"), "ForbiddenException");
    });

    it("works with the real SDK v3 client: URL-decoded ids, typed GoneException", async () => {
      await start(chatRoutes);
      const connected: Array<{ client: TestClient; id: string }> = [];
      while (!connected.some(({ id }) => id.includes("/") && id.includes("+")))
        connected.push(await connectWithId());
      const { client, id } = connected.find(({ id }) => id.includes("/") && id.includes("+"))!;
      const sdk = new ApiGatewayManagementApiClient({
        endpoint: gateway!.managementEndpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "any", secretAccessKey: "any" },
      });
      try {
        await sdk.send(
          new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from("via the SDK") }),
        );
        assert.equal(await client.next(), "via the SDK");
        const info = await sdk.send(new GetConnectionCommand({ ConnectionId: id }));
        assert.ok(info.ConnectedAt instanceof Date);
        assert.equal(info.Identity?.SourceIp, "127.0.0.1");

        await sdk.send(new DeleteConnectionCommand({ ConnectionId: id }));
        await client.closed;
        const err = await sdk
          .send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from("too late") }))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        assert.ok(err instanceof GoneException, `expected GoneException, got ${String(err)}`);
        assert.equal(err.name, "GoneException");
        assert.equal(err.$metadata.httpStatusCode, 410);
      } finally {
        sdk.destroy();
      }
    });

    it("adds managementLatencyMs to every @connections call", async () => {
      await start(chatRoutes, { managementLatencyMs: 100 });
      const { client, id } = await connectWithId();
      const started = Date.now();
      await fetch(at(id), { method: "POST", body: "late" });
      assert.ok(Date.now() - started >= 90); // timers may fire a few ms early against the wall clock
      assert.equal(await client.next(), "late");
    });
  });

  describe("the benchmark's direct paths and shutdown", () => {
    it("lists open connections and writes straight to one socket or to all", async () => {
      await start(chatRoutes);
      const a = await connectWithId();
      const b = await connectWithId();
      assert.deepEqual(gateway!.connectionIds().sort(), [a.id, b.id].sort());
      assert.equal(gateway!.sendDirect(a.id, "to a"), true);
      assert.equal(gateway!.sendDirect("R1kmxc2VNjMCFIA=", "to nobody"), false);
      assert.equal(gateway!.sendToAll("to all"), 2);
      assert.deepEqual(
        [await a.client.next(), await a.client.next(), await b.client.next()],
        ["to a", "to all", "to all"],
      );
    });

    it('emits "connect" when a connection opens and "disconnect" only after $disconnect has run', async () => {
      let finishDisconnect!: () => void;
      const disconnectHeld = new Promise<void>((resolve) => (finishDisconnect = resolve));
      await start((i) => ({
        $connect: i.route(),
        $disconnect: i.route(() => disconnectHeld.then(() => ({ statusCode: 200 }))),
      }));
      const connected = once(gateway!, "connect");
      const client = await connect();
      const [id] = (await connected) as [string];
      assert.deepEqual(gateway!.connectionIds(), [id]);
      let disconnected = false;
      const disconnectedEvent = once(gateway!, "disconnect").then(
        (args) => ((disconnected = true), args),
      );
      await client.close(1000);
      await integrations.next("$disconnect");
      assert.equal(disconnected, false, "not before $disconnect finished");
      finishDisconnect();
      assert.deepEqual(await disconnectedEvent, [id, 1000]);
    });

    it("close() closes every connection with 1001 and runs $disconnect for each before resolving", async () => {
      await start(chatRoutes);
      const connected = [await connectWithId(), await connectWithId(), await connectWithId()];
      await gateway!.close();
      assert.equal(integrations.count("$disconnect"), 3);
      for (const { client } of connected) {
        assert.equal((await client.closed).code, 1001);
        assert.equal(client.socket.readyState, WebSocket.CLOSED);
      }
    });
  });
});

/** Sends `body` as a fragmented text message, `size` bytes per frame. */
async function sendFragmented(client: TestClient, body: string, size: number): Promise<void> {
  const bytes = Buffer.from(body);
  for (let offset = 0; offset < bytes.length; offset += size) {
    const last = offset + size >= bytes.length;
    await client.send(bytes.subarray(offset, offset + size), { binary: false, fin: last });
  }
}

function formatUtc(epochMs: number): string {
  const d = new Date(epochMs);
  const months = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A promise that stays pending until `release()`: holds a handler mid-flight. */
function latch(): { released: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { released, release };
}
