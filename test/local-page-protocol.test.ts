import { strict as assert } from "assert";

// The page's protocol module is plain browser JavaScript (an ES module); Node loads it as is.
const protocol = require("../local/page/protocol.mjs");

const CONFIG = {
  url: "ws://127.0.0.1:3001/dev",
  routeSelectionExpression: "$request.body.action",
  messageRoute: "sendmessage",
  maxFrameBytes: 32768,
  idleTimeoutSeconds: 600,
  actions: { history: "history", who: "who" },
};

function settings(query: string, config: object = CONFIG, remembered = {}) {
  return protocol.resolveSettings(config, new URLSearchParams(query), remembered);
}

describe("local/page/protocol.mjs: the page's side of chat.v1", () => {
  describe("settings from config.json and the address", () => {
    it("takes the stack's routing from config.json, and room, name and url from the address", () => {
      const s = settings("room=blue&name=%20alice%20&url=wss://x.example/prod");
      assert.equal(s.url, "wss://x.example/prod");
      assert.equal(s.room, "blue");
      assert.equal(s.name, "alice");
      assert.deepEqual(s.actionPath, ["action"]);
      assert.equal(s.messageRoute, "sendmessage");
      assert.equal(s.maxFrameBytes, 32768);
      assert.equal(s.idleTimeoutMs, 600_000);
      assert.deepEqual(s.problems, {});
    });

    it("learns another routing from config.json: $request.body.message and pushmessage", () => {
      const s = settings("", {
        ...CONFIG,
        routeSelectionExpression: "${request.body.message}",
        messageRoute: "pushmessage",
      });
      assert.deepEqual(s.actionPath, ["message"]);
      assert.equal(s.messageRoute, "pushmessage");
      assert.equal(
        protocol.actionFrame(s.actionPath, s.messageRoute, { data: "hi" }),
        '{"message":"pushmessage","data":"hi"}',
      );
    });

    it("lets ?actionField= and ?routeKey= override config.json, for a deployed stack", () => {
      const s = settings("actionField=meta.kind&routeKey=pushmessage");
      assert.deepEqual(s.actionPath, ["meta", "kind"]);
      assert.equal(
        protocol.actionFrame(s.actionPath, s.messageRoute, { data: "hi" }),
        '{"meta":{"kind":"pushmessage"},"data":"hi"}',
      );
      assert.deepEqual(settings("actionField=$request.body.message").actionPath, ["message"]);
    });

    it("defaults the room to general and remembers the last name and room when the address has none", () => {
      assert.equal(settings("").room, "general");
      assert.equal(settings("").name, "");
      const s = settings("", CONFIG, { name: "bob", room: "red" });
      assert.equal(s.name, "bob");
      assert.equal(s.room, "red");
      assert.equal(settings("room=blue", CONFIG, { room: "red" }).room, "blue");
    });

    it("names what it cannot use: a bad room, a non-WebSocket url, a route field that is data", () => {
      const s = settings("room=no spaces&url=https://x.example&actionField=data");
      assert.match(s.problems.room, /1 to 64 letters, digits/);
      assert.match(s.problems.url, /must start with ws:\/\/ or wss:\/\/, not https:/);
      assert.match(s.problems.actionField, /"data" cannot carry the route key/);
      assert.match(settings("url=nonsense").problems.url, /full ws:\/\/ or wss:\/\/ URL/);
      assert.throws(() => settings("", { ...CONFIG, maxFrameBytes: undefined }), /config.json/);
    });
  });

  describe("rooms and names, as the server checks them", () => {
    it("accepts 1-64 of A-Z a-z 0-9 _ . - as a room, and nothing else", () => {
      for (const room of ["general", "a", "A.b-c_9", "x".repeat(64)]) {
        assert.equal(protocol.roomProblem(room), undefined, room);
      }
      for (const room of ["", "x".repeat(65), "two words", "é", "a/b", "a?b", "<b>"]) {
        assert.ok(protocol.roomProblem(room), room);
      }
    });

    it("accepts 1-32 printable characters as a name, counting an emoji once", () => {
      for (const name of ["alice", "<img src=x>", "Zoë", "🦊".repeat(32), "x".repeat(32)]) {
        assert.equal(protocol.nameProblem(name), undefined, name);
      }
      assert.match(protocol.nameProblem(""), /Type a name/);
      assert.match(
        protocol.nameProblem("x".repeat(33)),
        /at most 32 characters \(this one has 33\)/,
      );
      for (const name of [
        "a\u0000b",
        "tab\there",
        "bidi\u202eevil",
        "zero\u200bwidth",
        "a\u2028b",
      ]) {
        assert.match(protocol.nameProblem(name), /printable/, JSON.stringify(name));
      }
    });
  });

  describe("what the page sends", () => {
    it("connects with room, name and token in the query, keeping the URL's own", () => {
      const url = protocol.connectUrl({
        url: "wss://x.example/prod?keep=1&token=stale",
        room: "a.b",
        name: "Zoë & co",
        token: "t/0k+n=",
      });
      const parsed = new URL(url);
      assert.equal(parsed.searchParams.get("keep"), "1");
      assert.equal(parsed.searchParams.get("room"), "a.b");
      assert.equal(parsed.searchParams.get("name"), "Zoë & co");
      assert.equal(parsed.searchParams.get("token"), "t/0k+n=");
      const noToken = protocol.connectUrl({
        url: "wss://x.example/prod?token=old",
        room: "r",
        name: "n",
        token: "",
      });
      assert.equal(new URL(noToken).searchParams.has("token"), false);
    });

    it("builds action frames with ordinary keys even for a path named __proto__", () => {
      assert.equal(protocol.actionFrame(["action"], "history"), '{"action":"history"}');
      assert.equal(protocol.actionFrame(["__proto__", "x"], "who"), '{"__proto__":{"x":"who"}}');
    });

    it("counts a frame's size in UTF-8 bytes, as the gateway does", () => {
      assert.equal(protocol.utf8Bytes("abc"), 3);
      assert.equal(protocol.utf8Bytes("é"), 2);
      assert.equal(protocol.utf8Bytes("🦊"), 4);
      assert.equal(protocol.utf8Bytes("€".repeat(10)), 30);
    });

    it("waits half a second, doubling to 30 s, each wait between half and all of its ceiling", () => {
      const low = (attempt: number) => protocol.reconnectDelayMs(attempt, () => 0);
      const high = (attempt: number) => protocol.reconnectDelayMs(attempt, () => 1);
      assert.deepEqual([0, 1, 2, 3].map(high), [500, 1000, 2000, 4000]);
      assert.deepEqual([0, 1, 2, 3].map(low), [250, 500, 1000, 2000]);
      assert.equal(high(6), 30_000);
      assert.equal(high(1000), 30_000);
      assert.equal(low(1000), 15_000);
    });
  });

  describe("what the page reads", () => {
    it("reads each chat.v1 frame type", () => {
      const message = {
        type: "message",
        room: "r",
        from: "alice",
        data: "hi",
        sentAt: "2026-01-02T03:04:05.000Z",
        id: "m1",
      };
      assert.deepEqual(protocol.parseFrame(JSON.stringify(message)), {
        ...message,
        sentAt: Date.parse(message.sentAt),
      });
      const history = protocol.parseFrame(
        JSON.stringify({ type: "history", room: "r", messages: [message, { junk: true }] }),
      );
      assert.equal(history.messages.length, 1, "a malformed entry is dropped, the rest kept");
      assert.deepEqual(
        protocol.parseFrame(
          '{"type":"joined","room":"r","name":"bob","at":"2026-01-02T03:04:05Z"}',
        ),
        { type: "joined", room: "r", name: "bob", at: Date.parse("2026-01-02T03:04:05Z") },
      );
      assert.deepEqual(
        protocol.parseFrame('{"type":"presence","room":"r","count":3,"names":["a",7,"b"]}'),
        { type: "presence", room: "r", count: 3, names: ["a", "b"] },
      );
    });

    it("reads seq, resume replies, acks and the clientId and wait of a refused send", () => {
      const message = { type: "message", room: "r", from: "a", data: "hi", id: "m1", seq: 7 };
      assert.equal(protocol.parseFrame(JSON.stringify(message)).seq, 7);
      assert.equal(protocol.parseFrame(JSON.stringify({ ...message, seq: -1 })).seq, undefined);
      const resumed = {
        type: "history",
        room: "r",
        messages: [message],
        since: 6,
        complete: false,
        latestSeq: 9,
      };
      assert.deepEqual(protocol.parseFrame(JSON.stringify(resumed)), {
        ...resumed,
        messages: [message],
      });
      const ack = { type: "ack", clientId: "abcdefgh", id: "m1", seq: 7, duplicate: true };
      assert.deepEqual(protocol.parseFrame(JSON.stringify(ack)), ack);
      assert.deepEqual(protocol.parseFrame('{"type":"ack","id":"m1"}'), { type: "unknown" });
      assert.deepEqual(
        protocol.parseFrame(
          '{"type":"error","error":"RateLimited","message":"m","clientId":"abcdefgh","retryAfterMs":250}',
        ),
        {
          type: "error",
          error: "RateLimited",
          message: "RateLimited: m",
          clientId: "abcdefgh",
          retryAfterMs: 250,
        },
      );
    });

    it("makes clientIds the server takes, each different", () => {
      const ids = new Set(Array.from({ length: 1000 }, () => protocol.newClientId()));
      assert.equal(ids.size, 1000);
      for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{8,64}$/);
    });

    it("resumes from the highest seq up to which it has every message", () => {
      assert.equal(protocol.contiguousSeq(3, new Set([4, 5, 7])), 5);
      assert.equal(protocol.contiguousSeq(0, new Set([2])), 0);
    });

    it("reads the chat's errors and API Gateway's own error frames as errors", () => {
      assert.deepEqual(
        protocol.parseFrame('{"type":"error","error":"RateLimited","message":"Retry in 2 s."}'),
        { type: "error", error: "RateLimited", message: "RateLimited: Retry in 2 s." },
      );
      assert.deepEqual(
        protocol.parseFrame(
          '{"message": "Forbidden", "connectionId":"XDmENcnwIE0CFEQ=", "requestId":"XDmGEE2RoE0FRdQ="}',
        ),
        { type: "error", error: "", message: "Forbidden" },
      );
    });

    it("ignores what it cannot read instead of failing", () => {
      for (const text of [
        "",
        "hello world",
        "null",
        "[1,2]",
        '"text"',
        '{"type":"message"}',
        '{"type":"message","room":"r","from":"a","id":"1"}',
        '{"type":"history","room":"r","messages":"no"}',
        '{"type":"presence","room":"r","count":"3"}',
        '{"type":"joined","room":"r"}',
        '{"type":"__proto__"}',
        '{"type":"mystery","message":"x"}',
        '{"__proto__":{"type":"error","message":"x"}}',
      ]) {
        assert.deepEqual(protocol.parseFrame(text), { type: "unknown" }, text);
      }
    });

    it("shows a string as it is and any other data as its JSON text", () => {
      assert.equal(protocol.displayText("<b>x</b>"), "<b>x</b>");
      assert.equal(protocol.displayText({ a: [1, null] }), '{"a":[1,null]}');
      assert.equal(protocol.displayText(42), "42");
    });
  });
});
