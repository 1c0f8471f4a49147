import { strict as assert } from "assert";
import { MAX_MESSAGE_BYTES } from "../handlers/lib/limits";
import { exampleMessage, parseMessage, unroutableReason } from "../handlers/lib/message";
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

describe("unroutableReason: what $default tells a sender", function () {
  const byAction = {
    routeSelectionExpression: "$request.body.action",
    messageRoute: "sendmessage",
  };
  const whatToSend =
    'Send a message like {"action":"sendmessage","data":"hello world"}, ' +
    'or ask for {"action":"history"} or {"action":"who"}.';
  const cases: Array<[string, string, string]> = [
    ["text that is not JSON", "hello", "The message is not JSON."],
    [
      "JSON with a key in no quotes",
      '{"action":"sendmessage", data: "x"}',
      "The message is not JSON (at character 26, a key without double quotes).",
    ],
    ["cut-off JSON", '{"action":"who"', "The message is not JSON (at character 16)."],
    ["an array", "[1,2]", "The message is JSON, but an array, not an object."],
    ["a string", '"who"', "The message is JSON, but a string, not an object."],
    ["null", "null", "The message is JSON, but null, not an object."],
    ["no body", "", "The message is empty."],
    [
      "an object with no action",
      '{"data":"hi"}',
      'The message has no "action" field, which names the action to take.',
    ],
    [
      "an action that is only an inherited name",
      '{"__proto__":{"action":"who"}}',
      'The message has no "action" field, which names the action to take.',
    ],
    [
      "an empty action",
      '{"action":""}',
      'The message\'s "action" field is empty: it names the action to take.',
    ],
    ["an unknown action", '{"action":"shout"}', 'Unknown action "shout".'],
    ["a number as action", '{"action":7}', 'Unknown action "7".'],
  ];
  for (const [what, body, problem] of cases) {
    it(`says what is wrong with ${what}, then what to send instead`, function () {
      assert.equal(unroutableReason(body, byAction), `${problem} ${whatToSend}`);
    });
  }

  it("names the field and actions of the chat's own routing", function () {
    assert.equal(
      unroutableReason('{"action":"sendmessage"}', {
        routeSelectionExpression: "$request.body.meta.kind",
        messageRoute: "pushmessage",
      }),
      'The message has no "meta.kind" field, which names the action to take. ' +
        'Send a message like {"meta":{"kind":"pushmessage"},"data":"hello world"}, ' +
        'or ask for {"meta":{"kind":"history"}} or {"meta":{"kind":"who"}}.',
    );
  });

  it("says back at most 64 characters of an unknown action", function () {
    const reason = unroutableReason(JSON.stringify({ action: "x".repeat(100_000) }), byAction);
    assert.ok(reason.startsWith(`Unknown action "${"x".repeat(64)}...".`), reason.slice(0, 90));
  });

  it("reads an action nested too deeply to write back, instead of throwing", function () {
    const body = `{"action":${"[".repeat(60_000)}${"]".repeat(60_000)}}`;
    assert.match(
      unroutableReason(body, byAction),
      /^The message's "action" field is nested too deeply/,
    );
  });
});
