import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { strict as assert } from "assert";
import { TestClient } from "./support/local-clients";
import { answerTo, chatRoutes, useLocalGateway } from "./support/local-gateway";
import { PROMPTLY_MS, within } from "./support/within";

describe("local gateway: the @connections API (local/connections-api.ts)", function () {
  const harness = useLocalGateway();
  const at = (id: string) =>
    `${harness.gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`;

  it("POST delivers the raw body as a text frame and answers 200, whatever the signature", async () => {
    await harness.start(chatRoutes);
    const { client, id } = await harness.connectWithId();
    let binary: boolean | undefined;
    client.socket.once("message", (_data, isBinary) => (binary = isBinary));
    const response = await answerTo(at(id), {
      method: "POST",
      body: '{"not":"parsed"} ✓',
      headers: { Authorization: "AWS4-HMAC-SHA256 Credential=garbage, Signature=nonsense" },
    });
    assert.equal(response.status, 200);
    assert.equal(await client.next(), '{"not":"parsed"} ✓');
    assert.equal(binary, false);
  });

  it("POST answers 429 LimitExceededException for a client that stops reading, and delivers again once it reads", async () => {
    await harness.start(chatRoutes);
    const { client, id } = await harness.connectWithId();
    const { client: other, id: otherId } = await harness.connectWithId();
    client.socket.pause(); // stops reading: what the gateway sends piles up
    const body = "z".repeat(128 * 1024);
    let accepted = 0;
    let refused: Response | undefined;
    // Loopback buffers take a few MB before the gateway holds anything: at most 40 posts (5 MB).
    while (!refused && accepted < 40) {
      const response = await answerTo(at(id), { method: "POST", body });
      if (response.status === 200) accepted++;
      else refused = response;
    }
    assert.ok(refused, `all ${accepted} posts of 128 KB were taken for a client that reads none`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("x-amzn-errortype"), "LimitExceededException");
    // Everyone else is served meanwhile.
    assert.equal((await answerTo(at(otherId), { method: "POST", body: "hi" })).status, 200);
    assert.equal(await within(PROMPTLY_MS, "the other client's message", other.next()), "hi");
    // Nothing taken is lost: once the client reads again it gets every accepted post, in order.
    client.socket.resume();
    for (let i = 0; i < accepted; i++) {
      assert.equal((await within(PROMPTLY_MS, `post ${i}`, client.next())).length, body.length);
    }
    assert.equal((await answerTo(at(id), { method: "POST", body: "again" })).status, 200);
    assert.equal(await within(PROMPTLY_MS, "the post after reading", client.next()), "again");
    assert.ok(client.isOpen);
  });

  it("POST of exactly 128 KB is delivered; one byte more is 413 PayloadTooLargeException", async () => {
    await harness.start(chatRoutes);
    const { client, id } = await harness.connectWithId();
    const ok = await answerTo(at(id), { method: "POST", body: "x".repeat(128 * 1024) });
    assert.equal(ok.status, 200);
    assert.equal((await client.next()).length, 128 * 1024);
    const tooBig = await answerTo(at(id), { method: "POST", body: "x".repeat(128 * 1024 + 1) });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.headers.get("x-amzn-errortype"), "PayloadTooLargeException");
    assert.ok(client.isOpen);
    assert.deepEqual(client.pending, []);
  });

  it("GET answers connectedAt, lastActiveAt and identity with ISO timestamps", async () => {
    await harness.start(chatRoutes);
    const client = await harness.connect(undefined, {
      headers: { "User-Agent": "fidelity-test/1.0" },
    });
    const id = (await harness.integrations.next("$connect")).requestContext.connectionId;
    type Info = { connectedAt: string; lastActiveAt: string; identity: unknown };
    const first = (await (await answerTo(at(id))).json()) as Info;
    assert.match(first.connectedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(first.lastActiveAt, first.connectedAt);
    assert.deepEqual(first.identity, { sourceIp: "127.0.0.1", userAgent: "fidelity-test/1.0" });
    await new Promise((resolve) => setTimeout(resolve, 5)); // so that the clock moves on
    await client.send("activity");
    await harness.integrations.next("$default");
    const second = (await (await answerTo(at(id))).json()) as Info;
    assert.equal(second.connectedAt, first.connectedAt);
    assert.ok(Date.parse(second.lastActiveAt) > Date.parse(first.lastActiveAt));
  });

  it("DELETE answers 204, closes the connection and runs $disconnect", async () => {
    await harness.start(chatRoutes);
    const { client, id } = await harness.connectWithId();
    const response = await answerTo(at(id), { method: "DELETE" });
    assert.equal(response.status, 204);
    assert.equal((await client.closed).code, 1000);
    const event = await harness.integrations.next("$disconnect");
    assert.equal(event.requestContext.connectionId, id);
    assert.equal(event.requestContext.disconnectStatusCode, 1000);
  });

  it("answers 410 GoneException for unknown and closed connections", async () => {
    await harness.start(chatRoutes);
    const { client, id } = await harness.connectWithId();
    await client.close();
    await harness.integrations.next("$disconnect");
    // The last one is in the base64url form also seen on AWS: well-formed, so Gone rather than 400.
    for (const gone of [id, "R1kmxc2VNjMCFIA=", "JC1dgf9yoAMCK-g="]) {
      for (const method of ["POST", "GET", "DELETE"]) {
        const response = await answerTo(at(gone), {
          method,
          body: method === "POST" ? "x" : undefined,
        });
        assert.equal(response.status, 410, `${method} ${gone}`);
        assert.equal(response.headers.get("x-amzn-errortype"), "GoneException");
      }
    }
  });

  it("answers 400 BadRequestException for a malformed id", async () => {
    await harness.start(chatRoutes);
    const response = await answerTo(at("not-an-id"), { method: "POST", body: "x" });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("x-amzn-errortype"), "BadRequestException");
    assert.deepEqual(await response.json(), { message: "Invalid connectionId: not-an-id" });
  });

  it("answers 403 ForbiddenException when the id was not URL-encoded and its '/' split the path", async () => {
    await harness.start(chatRoutes);
    const response = await answerTo(
      `${harness.gateway.managementEndpoint}/@connections/abc/defghijklmnop=`,
      { method: "POST", body: "x" },
    );
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("x-amzn-errortype"), "ForbiddenException");
  });

  it("works with the real SDK v3 client: URL-decoded ids, typed GoneException", async () => {
    await harness.start(chatRoutes);
    const connected: Array<{ client: TestClient; id: string }> = [];
    while (!connected.some(({ id }) => id.includes("/") && id.includes("+")))
      connected.push(await harness.connectWithId());
    const { client, id } = connected.find(({ id }) => id.includes("/") && id.includes("+"))!;
    const sdk = new ApiGatewayManagementApiClient({
      endpoint: harness.gateway.managementEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "any", secretAccessKey: "any" },
    });
    try {
      await within(
        PROMPTLY_MS,
        "the SDK's PostToConnection",
        sdk.send(
          new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from("via the SDK") }),
        ),
      );
      assert.equal(await client.next(), "via the SDK");
      const info = await within(
        PROMPTLY_MS,
        "the SDK's GetConnection",
        sdk.send(new GetConnectionCommand({ ConnectionId: id })),
      );
      assert.ok(info.ConnectedAt instanceof Date);
      assert.equal(info.Identity?.SourceIp, "127.0.0.1");

      await within(
        PROMPTLY_MS,
        "the SDK's DeleteConnection",
        sdk.send(new DeleteConnectionCommand({ ConnectionId: id })),
      );
      await client.closed;
      const err = await within(
        PROMPTLY_MS,
        "the SDK's PostToConnection to a deleted connection",
        sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from("too late") })),
      ).then(
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
    await harness.start(chatRoutes, { managementLatencyMs: 100 });
    const { client, id } = await harness.connectWithId();
    const started = Date.now();
    await answerTo(at(id), { method: "POST", body: "late" });
    assert.ok(Date.now() - started >= 90); // timers may fire a few ms early against the wall clock
    assert.equal(await client.next(), "late");
  });
});
