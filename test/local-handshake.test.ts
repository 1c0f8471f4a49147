import { strict as assert } from "assert";
import * as http from "http";
import * as path from "path";
import { handshakeProblem, parseSubprotocols } from "../local/handshake";

// ws's own parser, the one that refuses a handshake after $connect if ours lets it through.
const wsSubprotocol = require(
  path.join(path.dirname(require.resolve("ws")), "lib", "subprotocol.js"),
) as {
  parse(header: string): Set<string>;
};

function wsParse(header: string): Set<string> | undefined {
  try {
    return wsSubprotocol.parse(header);
  } catch {
    return undefined;
  }
}

/** A deterministic pseudo-random generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function request(method: string, headers: Record<string, string>): http.IncomingMessage {
  const lowerCased = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  return { method, headers: lowerCased } as unknown as http.IncomingMessage;
}

describe("local gateway: the WebSocket handshake checks (local/handshake.ts)", function () {
  it("parses Sec-WebSocket-Protocol exactly as ws does, over 20,000 generated values", () => {
    const next = random(9);
    const alphabet = ["a", "b", "chat.v1", ",", " ", "\t", "@", "é", '"', "=", "/", "-"];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(next() * 8);
      const header = Array.from(
        { length },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join("");
      const ours = parseSubprotocols(header);
      assert.deepEqual(
        ours && [...ours],
        wsParse(header) && [...wsParse(header)!],
        JSON.stringify(header),
      );
      if (ours) accepted++;
    }
    assert.ok(accepted > 1000, `only ${accepted} generated values were valid`);
  });

  it("agrees with ws on the edge cases: duplicates, empty names, stray whitespace", () => {
    for (const header of [
      "a,a",
      "a, b, a",
      "",
      ",",
      "a,",
      ",a",
      " a",
      "a ",
      "a ,b",
      "a,\tb",
      "a b",
    ]) {
      const ours = parseSubprotocols(header);
      assert.deepEqual(
        ours && [...ours],
        wsParse(header) && [...wsParse(header)!],
        JSON.stringify(header),
      );
    }
    assert.equal(parseSubprotocols("a,a"), undefined);
  });

  it("finds nothing wrong with a handshake ws accepts", () => {
    const headers = {
      Upgrade: "websocket",
      "Sec-WebSocket-Key": KEY,
      "Sec-WebSocket-Version": "13",
    };
    assert.equal(handshakeProblem(request("GET", headers)), undefined);
    assert.equal(handshakeProblem(request("GET", { ...headers, Upgrade: "WebSocket" })), undefined);
    assert.equal(
      handshakeProblem(request("GET", { ...headers, "Sec-WebSocket-Protocol": "chat.v1, b" })),
      undefined,
    );
  });

  it("names each problem with the status ws would answer", () => {
    const headers = {
      Upgrade: "websocket",
      "Sec-WebSocket-Key": KEY,
      "Sec-WebSocket-Version": "13",
    };
    const cases: Array<[string, Record<string, string>, number]> = [
      ["POST", headers, 405],
      ["GET", { ...headers, Upgrade: "h2c" }, 400],
      ["GET", { "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13" }, 400],
      ["GET", { ...headers, "Sec-WebSocket-Key": "x".repeat(24) }, 400],
      ["GET", { ...headers, "Sec-WebSocket-Version": "12" }, 400],
      ["GET", { ...headers, "Sec-WebSocket-Protocol": " a" }, 400],
    ];
    for (const [method, given, status] of cases) {
      assert.equal(handshakeProblem(request(method, given))?.status, status, JSON.stringify(given));
    }
  });
});
