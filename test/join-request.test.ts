import { strict as assert } from "assert";
import {
  ConnectEvent,
  nameFromAuthorizer,
  offeredProtocols,
  parseName,
  parseRoom,
  readJoinRequest,
} from "../handlers/lib/join-request";
import { websocketEvent } from "./support/handlers";

function connectEvent(query?: Record<string, string>, headers?: Record<string, string>) {
  const event: ConnectEvent = websocketEvent("CONNECT", "$connect", "R1kmxc2VNjMCFIA=");
  if (query) event.queryStringParameters = query;
  if (headers) event.headers = headers;
  return event;
}

describe("readJoinRequest: what a connecting client asks for", function () {
  it("defaults to the room general, the name anonymous and plain frames", function () {
    assert.deepEqual(readJoinRequest(connectEvent()), {
      ok: true,
      join: { room: "general", name: "anonymous", structured: false },
    });
    assert.deepEqual(readJoinRequest(connectEvent({ room: "", name: "   " })), {
      ok: true,
      join: { room: "general", name: "anonymous", structured: false },
    });
  });

  it("takes rooms of 1 to 64 of A-Z a-z 0-9 _ . - and nothing else", function () {
    for (const room of ["a", "Team_1.b-2", "r".repeat(64)]) assert.equal(parseRoom(room).ok, true);
    for (const room of ["r".repeat(65), "a b", "a/b", "é", "a?b", "..%2F"])
      assert.equal(parseRoom(room).ok, false, room);
  });

  it("takes names of 1 to 32 printable characters, counted as code points, trimmed", function () {
    assert.deepEqual(parseName("  Zoë 🙂  "), { ok: true, value: "Zoë 🙂" });
    assert.equal(parseName("🙂".repeat(32)).ok, true, "32 emoji are 32 characters");
    assert.equal(parseName("n".repeat(33)).ok, false);
    for (const name of ["a\u0000b", "a\tb", "a\u202Eb", "a\u200Bb", "a\u2028b", "a\uD800b"])
      assert.equal(parseName(name).ok, false, JSON.stringify(name));
  });

  it("reads room and name only as the query's own parameters", function () {
    const query = Object.create({ room: "inherited", name: "inherited" }) as Record<string, string>;
    assert.deepEqual(readJoinRequest(connectEvent(query)), {
      ok: true,
      join: { room: "general", name: "anonymous", structured: false },
    });
  });

  it("selects chat.v1 when it is among the offered subprotocols, whatever the header's case", function () {
    assert.deepEqual(offeredProtocols({ "sec-websocket-protocol": " a, chat.v1 ,b" }), [
      "a",
      "chat.v1",
      "b",
    ]);
    const structured = readJoinRequest(connectEvent({}, { "SEC-WEBSOCKET-PROTOCOL": "chat.v1" }));
    assert.ok(structured.ok && structured.join.structured);
    const other = readJoinRequest(connectEvent({}, { "Sec-WebSocket-Protocol": "chat.v10" }));
    assert.ok(other.ok && !other.join.structured);
  });

  it("takes the authorizer's name over the query's, cleaned rather than refused", function () {
    assert.equal(nameFromAuthorizer({ name: "  Ada\u0007 Lovelace  " }), "Ada Lovelace");
    assert.equal(nameFromAuthorizer({ name: "x".repeat(40) }), "x".repeat(32));
    assert.equal(nameFromAuthorizer({ name: "\u0000\u0001" }), undefined);
    assert.equal(nameFromAuthorizer({ sub: "u-1" }), undefined);
    assert.equal(nameFromAuthorizer(Object.create({ name: "inherited" })), undefined);
    const event = connectEvent({ name: "\u0007 not even valid" });
    event.requestContext.authorizer = { sub: "u-1", name: "Ada" };
    assert.deepEqual(readJoinRequest(event), {
      ok: true,
      join: { room: "general", name: "Ada", structured: false },
    });
  });
});
