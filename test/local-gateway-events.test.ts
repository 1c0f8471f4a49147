import { strict as assert } from "assert";
import { ConnectionContext, connectEvent } from "../local/gateway-events";
import { ID, chatRoutes, useLocalGateway } from "./support/local-gateway";

describe("local gateway: the events routes receive (local/gateway-events.ts)", function () {
  const harness = useLocalGateway();

  it("CONNECT: requestContext, the client's headers plus X-Forwarded-*, and query parameters when present", async () => {
    await harness.start(chatRoutes);
    await harness.connect(`${harness.gateway.url}?token=abc&room=a&room=b`, {
      headers: { "User-Agent": "fidelity-test/1.0", "X-Custom-Header": "custom" },
    });
    const event = await harness.integrations.next("$connect");
    const context = event.requestContext;
    assert.equal(context.routeKey, "$connect");
    assert.equal(context.eventType, "CONNECT");
    assert.equal(context.messageDirection, "IN");
    assert.match(context.connectionId, ID);
    assert.match(context.requestId, ID);
    assert.match(context.extendedRequestId, ID);
    assert.equal(context.stage, "dev");
    assert.equal(context.apiId, harness.gateway.apiId);
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
    assert.equal(event.headers!["X-Forwarded-Port"], String(harness.gateway.port));
    assert.equal(event.headers!["X-Forwarded-Proto"], "http");
    assert.match(event.headers!["X-Amzn-Trace-Id"], /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    assert.deepEqual(event.multiValueHeaders!["X-Custom-Header"], ["custom"]);
    assert.deepEqual(event.queryStringParameters, { token: "abc", room: "b" });
    assert.deepEqual(event.multiValueQueryStringParameters, { token: ["abc"], room: ["a", "b"] });
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.body, undefined);
  });

  it("CONNECT without a query string has no query parameter fields at all", async () => {
    await harness.start(chatRoutes);
    await harness.connect();
    const event = await harness.integrations.next("$connect");
    assert.ok(!("queryStringParameters" in event));
    assert.ok(!("multiValueQueryStringParameters" in event));
  });

  it("MESSAGE: the body as sent, isBase64Encoded false, a messageId, no headers, the connection's connectedAt", async () => {
    await harness.start(chatRoutes);
    const { client } = await harness.connectWithId();
    const connectEvent = harness.integrations.events[0];
    const body = JSON.stringify({ action: "sendmessage", data: "héllo 👋" });
    await client.send(body);
    const event = await harness.integrations.next("sendmessage");
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
    await harness.start(chatRoutes);
    const { client, id } = await harness.connectWithId();
    await client.close(4001, "bye now");
    const event = await harness.integrations.next("$disconnect");
    assert.equal(event.requestContext.eventType, "DISCONNECT");
    assert.equal(event.requestContext.connectionId, id);
    assert.equal(event.requestContext.disconnectStatusCode, 4001);
    assert.equal(event.requestContext.disconnectReason, "bye now");
    assert.deepEqual(event.headers, {
      Host: `127.0.0.1:${harness.gateway.port}`,
      "x-api-key": "",
      "X-Forwarded-For": "",
      "x-restapi": "",
    });
    assert.deepEqual(event.multiValueHeaders!["x-api-key"], [""]);
  });

  it("DISCONNECT after a close without a code reports 1005", async () => {
    await harness.start(chatRoutes);
    const { client } = await harness.connectWithId();
    await client.close();
    assert.equal(
      (await harness.integrations.next("$disconnect")).requestContext.disconnectStatusCode,
      1005,
    );
  });

  it("gives ids in API Gateway's form, some with the '/' and '+' that need URL-encoding", async () => {
    await harness.start(chatRoutes);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await harness.connectWithId()).id);
    for (const id of ids) assert.match(id, ID);
    assert.ok(
      ids.some((id) => id.includes("/") && id.includes("+")),
      ids.join(" "),
    );
    assert.equal(new Set(ids).size, ids.length);
  });

  describe("names the client chose (query string and header names are hostile)", () => {
    const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

    it("keeps Object.prototype member names as plain own fields, as Lambda's JSON parse would", () => {
      const rawHeaders = PROTOTYPE_NAMES.flatMap((name) => [name, `${name}-1`, name, `${name}-2`]);
      const query = PROTOTYPE_NAMES.map((name) => `${name}=${name}-a&${name}=${name}-b`).join("&");
      const event = connectEvent(CONNECTION, { rawHeaders, query, localPort: 3001 });
      for (const name of PROTOTYPE_NAMES) {
        for (const [fields, last] of [
          [event.headers, `${name}-2`],
          [event.queryStringParameters, `${name}-b`],
        ] as const) {
          assert.ok(Object.hasOwn(fields!, name), name);
          assert.equal(Object.getOwnPropertyDescriptor(fields, name)?.value, last);
        }
        assert.deepEqual(Object.getOwnPropertyDescriptor(event.multiValueHeaders, name)?.value, [
          `${name}-1`,
          `${name}-2`,
        ]);
        assert.deepEqual(
          Object.getOwnPropertyDescriptor(event.multiValueQueryStringParameters, name)?.value,
          [`${name}-a`, `${name}-b`],
        );
      }
      for (const fields of [event.headers, event.multiValueHeaders, event.queryStringParameters]) {
        assert.equal(Object.getPrototypeOf(fields), Object.prototype);
      }
      // What a worker receives: the structured clone keeps every name.
      assert.deepEqual(Object.keys(structuredClone(event.headers)!), Object.keys(event.headers!));
    });

    it("connects ?constructor=1&__proto__=x with a __proto__ header, and keeps serving others", async () => {
      await harness.start(chatRoutes);
      const headers: Record<string, string> = {};
      for (const name of ["__proto__", "constructor", "toString"]) {
        Object.defineProperty(headers, name, { value: "evil", enumerable: true });
      }
      const hostile = await harness.connect(
        `${harness.gateway.url}?constructor=1&__proto__=x&hasOwnProperty=y`,
        { headers },
      );
      const event = await harness.integrations.next("$connect");
      assert.deepEqual(Object.entries(event.queryStringParameters!), [
        ["constructor", "1"],
        ["__proto__", "x"],
        ["hasOwnProperty", "y"],
      ]);
      assert.equal(Object.getOwnPropertyDescriptor(event.headers, "__proto__")?.value, "evil");
      assert.ok(hostile.isOpen);
      const { client: next } = await harness.connectWithId();
      assert.ok(next.isOpen);
      assert.equal(harness.gateway.connectionIds().length, 2);
    });
  });
});

const CONNECTION: ConnectionContext = {
  connectionId: "R1kmxc2VNjMCFIA=",
  connectedAt: Date.now(),
  apiId: "abcdefghij",
  stage: "dev",
  domainName: "127.0.0.1",
  sourceIp: "127.0.0.1",
  host: "127.0.0.1:3001",
};

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
