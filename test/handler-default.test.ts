import { strict as assert } from "assert";
import { FakeConnectionsApi } from "./support/connections-api";
import { dynamoBackends, TestDynamo } from "./support/dynamo";
import { startHandler, websocketEvent } from "./support/handlers";

describe("$default handler", function () {
  let api: FakeConnectionsApi;

  before(async function () {
    api = await FakeConnectionsApi.start();
  });
  after(async function () {
    await api.stop();
  });
  beforeEach(function () {
    api.reset();
  });

  async function sendUnroutable(
    sender: string,
    body: string,
    environment: Record<string, string> = {},
  ) {
    const handler = await startHandler("default", {
      MANAGEMENT_ENDPOINT: api.endpoint,
      ...environment,
    });
    try {
      return await handler.invoke(websocketEvent("MESSAGE", "$default", sender, body));
    } finally {
      await handler.close();
    }
  }

  it("replies to the sender only with a JSON error naming the valid action and message shape", async function () {
    const result = await sendUnroutable(
      "sender0000+/000=",
      JSON.stringify({ action: "shout", data: "hi" }),
    );
    assert.equal(result.statusCode, 400);
    assert.deepEqual([...api.delivered.keys()], ["sender0000+/000="]);
    const reply = JSON.parse(api.delivered.get("sender0000+/000=")![0]);
    assert.equal(reply.error, "UnknownAction");
    assert.match(reply.message, /"action":"sendmessage"/);
    assert.deepEqual(reply.expected, { action: "sendmessage", data: "hello world" });
  });

  it("tells a new user whether the message was not JSON, not an object or an unknown action", async function () {
    const problems: Array<[string, RegExp]> = [
      ["hello", /^The message is not JSON\. Send a message like/],
      ["[1,2]", /^The message is JSON, but an array, not an object\. Send/],
      ['{"action":"sendmessage", data: "x"}', /^The message is not JSON \(at character 26, a key/],
      ['{"data":"x"}', /^The message has no "action" field/],
      ['{"action":"shout"}', /^Unknown action "shout"\. Send/],
    ];
    for (const [i, [body, problem]] of problems.entries()) {
      const sender = `sender0000+/1${i}0=`;
      const result = await sendUnroutable(sender, body);
      const reply = JSON.parse(api.delivered.get(sender)![0]);
      assert.equal(reply.error, "UnknownAction", body);
      assert.match(reply.message, problem, body);
      assert.match(reply.message, /or ask for \{"action":"history"\} or \{"action":"who"\}\.$/);
      assert.equal(result.body, reply.message);
    }
  });

  it("names the configured route when the chat uses $request.body.message and pushmessage", async function () {
    await sendUnroutable("sender0000+/001=", "not json", {
      ROUTE_SELECTION_EXPRESSION: "$request.body.message",
      MESSAGE_ROUTE: "pushmessage",
    });
    const reply = JSON.parse(api.delivered.get("sender0000+/001=")![0]);
    assert.deepEqual(reply.expected, { message: "pushmessage", data: "hello world" });
    assert.match(reply.message, /\{"message":"history"\} or \{"message":"who"\}/);
  });

  for (const backend of dynamoBackends()) {
    it(`answers a chat.v1 sender with a typed error frame, read from its record (${backend})`, async function () {
      const dynamo = await TestDynamo.start(backend);
      try {
        const table = await dynamo.createConnectionsTable();
        await dynamo.putConnections(table, [
          { id: "sender0000+/003=", expiresAt: 4_000_000_000, structured: true },
        ]);
        await sendUnroutable("sender0000+/003=", JSON.stringify({ action: "shout" }), {
          TABLE_NAME: table,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        });
        const reply = JSON.parse(api.delivered.get("sender0000+/003=")![0]);
        assert.equal(reply.type, "error");
        assert.equal(reply.error, "UnknownAction");
      } finally {
        await dynamo.stop();
      }
    });
  }

  it("does not fail when the sender has already gone", async function () {
    api.answer("sender0000+/002=", 410);
    const result = await sendUnroutable("sender0000+/002=", "{}");
    assert.equal(result.statusCode, 400);
  });
});
