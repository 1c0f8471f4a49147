import { strict as assert } from "assert";
import { MAX_MESSAGE_BYTES } from "../handlers/lib/limits";
import { exampleMessage, parseMessage } from "../handlers/lib/message";
import { routeKeyPath } from "../handlers/routes";

describe("parseMessage", function () {
  it("takes a string data as the payload, unchanged", function () {
    assert.deepEqual(parseMessage('{"action":"sendmessage","data":"hello world"}'), {
      ok: true,
      payload: "hello world",
      dataJson: '"hello world"',
    });
  });

  it("turns any other JSON data into its JSON text", function () {
    assert.deepEqual(parseMessage('{"data":[1,{"a":true}]}'), {
      ok: true,
      payload: '[1,{"a":true}]',
      dataJson: '[1,{"a":true}]',
    });
    assert.deepEqual(parseMessage('{"data":0}'), { ok: true, payload: "0", dataJson: "0" });
    assert.deepEqual(parseMessage('{"data":false}'), {
      ok: true,
      payload: "false",
      dataJson: "false",
    });
  });

  it("rejects a body with no data, null data, no body, or a body that is not a JSON object", function () {
    for (const body of [
      '{"action":"sendmessage"}',
      '{"data":null}',
      undefined,
      "",
      "hello",
      "[]",
      '"data"',
      "null",
    ]) {
      const parsed = parseMessage(body);
      assert.equal(parsed.ok, false, String(body));
    }
  });

  it("rejects data that API Gateway would refuse to post (over 128 KB)", function () {
    const atLimit = "x".repeat(MAX_MESSAGE_BYTES);
    assert.equal(parseMessage(JSON.stringify({ data: atLimit })).ok, true);
    const overLimit = "é".repeat(MAX_MESSAGE_BYTES / 2 + 1); // counted in bytes, not characters
    assert.equal(parseMessage(JSON.stringify({ data: overLimit })).ok, false);
  });

  it("rejects data nested more deeply than it can be written back, with a reason instead of a throw", function () {
    // 60,000 levels fit in a 128 KB message; JSON.parse reads them, JSON.stringify overflows.
    const levels = 60_000;
    const body = `{"action":"sendmessage","data":${"[".repeat(levels)}${"]".repeat(levels)}}`;
    assert.deepEqual(parseMessage(body), { ok: false, reason: '"data" is nested too deeply.' });
    const shallow = `{"data":${"[".repeat(1000)}${"]".repeat(1000)}}`;
    assert.equal(parseMessage(shallow).ok, true);
  });

  it("reads data only as the body's own field: prototype names are just names", function () {
    assert.equal(parseMessage('{"__proto__":{"data":"smuggled"}}').ok, false);
    assert.deepEqual(parseMessage('{"__proto__":{"x":1},"constructor":2,"data":"hi"}'), {
      ok: true,
      payload: "hi",
      dataJson: '"hi"',
    });
    assert.deepEqual(parseMessage('{"data":{"__proto__":{"toString":1}}}'), {
      ok: true,
      payload: '{"__proto__":{"toString":1}}',
      dataJson: '{"__proto__":{"toString":1}}',
    });
  });
});

describe("exampleMessage", function () {
  it("builds the valid message for the default routing", function () {
    assert.deepEqual(
      exampleMessage({
        routeSelectionExpression: "$request.body.action",
        messageRoute: "sendmessage",
      }),
      {
        action: "sendmessage",
        data: "hello world",
      },
    );
  });

  it("follows a nested selection expression", function () {
    assert.deepEqual(
      exampleMessage({ routeSelectionExpression: "$request.body.meta.kind", messageRoute: "chat" }),
      {
        meta: { kind: "chat" },
        data: "hello world",
      },
    );
  });

  it("reads the ${request.body.x} form of the expression too", function () {
    assert.deepEqual(
      exampleMessage({
        routeSelectionExpression: "${request.body.message}",
        messageRoute: "pushmessage",
      }),
      {
        message: "pushmessage",
        data: "hello world",
      },
    );
  });
});

describe("routeKeyPath", function () {
  it("reads the body path of both expression forms and refuses anything else", function () {
    assert.deepEqual(routeKeyPath("$request.body.action"), ["action"]);
    assert.deepEqual(routeKeyPath("${request.body.meta.kind}"), ["meta", "kind"]);
    for (const unsupported of [
      "$request.header.action",
      "$request.body.",
      "$request.body.a..b",
      "action",
    ]) {
      assert.equal(routeKeyPath(unsupported), undefined, unsupported);
    }
  });
});
