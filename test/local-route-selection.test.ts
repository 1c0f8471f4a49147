import { strict as assert } from "assert";
import { sendFragmented } from "./support/local-clients";
import { chatRoutes, useLocalGateway } from "./support/local-gateway";

describe("local gateway: route selection (local/route-selection.ts)", function () {
  const harness = useLocalGateway();

  it("routes on the configured expression's value, and the handler sees that routeKey", async () => {
    await harness.start(chatRoutes);
    const { client } = await harness.connectWithId();
    const body = JSON.stringify({ action: "sendmessage", data: "hi" });
    await client.send(body);
    const event = await harness.integrations.next("sendmessage");
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
      await harness.start(chatRoutes);
      const { client } = await harness.connectWithId();
      await client.send(body);
      const event = await harness.integrations.next("$default");
      assert.equal(event.requestContext.routeKey, "$default");
      assert.equal(event.body, body);
      assert.equal(harness.integrations.count("sendmessage"), 0);
      assert.ok(client.isOpen);
    });
  }

  it("evaluates nested paths and stringifies non-string values", async () => {
    await harness.start(
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
    const { client } = await harness.connectWithId();
    await client.send(JSON.stringify({ route: { key: 7 } }));
    assert.equal((await harness.integrations.next("7")).requestContext.routeKey, "7");
    await client.send(JSON.stringify({ route: { key: true } }));
    assert.equal((await harness.integrations.next("true")).requestContext.routeKey, "true");
    await client.send(JSON.stringify({ route: { key: { x: 1 } } }));
    assert.equal((await harness.integrations.next('{"x":1}')).requestContext.routeKey, '{"x":1}');
  });

  it('routes {"message":"pushmessage"} with $request.body.message, and the action field means nothing', async () => {
    await harness.start(
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
    const { client } = await harness.connectWithId();
    await client.send(JSON.stringify({ message: "pushmessage", data: "hi" }));
    assert.equal(
      (await harness.integrations.next("pushmessage")).requestContext.routeKey,
      "pushmessage",
    );
    await client.send(JSON.stringify({ action: "sendmessage", data: "hi" }));
    assert.equal((await harness.integrations.next("$default")).requestContext.routeKey, "$default");
    assert.equal(harness.integrations.count("sendmessage"), 0);
  });

  it("sends a route value nested too deeply to stringify to $default, and keeps the connection", async () => {
    await harness.start(chatRoutes);
    const { client } = await harness.connectWithId();
    // 60,000 levels: JSON.parse reads them, JSON.stringify would overflow the stack.
    const body = `{"action":${"[".repeat(60_000)}${"]".repeat(60_000)}}`;
    await sendFragmented(client, body, 32 * 1024);
    assert.equal((await harness.integrations.next("$default")).body, body);
    await client.send(JSON.stringify({ action: "sendmessage" }));
    await harness.integrations.next("sendmessage");
    assert.ok(client.isOpen);
  });

  it("sends Object.prototype member names, as values or as keys, to $default", async () => {
    await harness.start(chatRoutes);
    const { client } = await harness.connectWithId();
    const bodies = [
      ...["__proto__", "constructor", "toString", "hasOwnProperty"].map((action) =>
        JSON.stringify({ action }),
      ),
      '{"__proto__":{"action":"sendmessage"}}',
      '{"constructor":{"action":"sendmessage"}}',
    ];
    for (const body of bodies) {
      await client.send(body);
      assert.equal((await harness.integrations.next("$default")).body, body);
    }
    assert.equal(harness.integrations.count("sendmessage"), 0);
  });

  it("refuses to start with an expression it cannot evaluate", async () => {
    await assert.rejects(
      harness.start(chatRoutes, { routeSelectionExpression: "$request.header.action" }),
      /route selection expression/,
    );
  });
});
