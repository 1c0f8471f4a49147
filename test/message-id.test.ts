import { strict as assert } from "assert";
import { messageId, timePrefix } from "../handlers/lib/message-id";

describe("message ids", function () {
  it("are 26 characters of Crockford base32, unique even within one millisecond", function () {
    const ids = Array.from({ length: 1000 }, () => messageId(1_700_000_000_000));
    for (const id of ids) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("sort by the time they carry, and after that time's prefix", function () {
    const times = [0, 1, 31, 32, 1_000, 1_700_000_000_000, 1_700_000_000_001, 2 ** 48 - 1];
    const ids = times.map((t) => messageId(t));
    assert.deepEqual([...ids].sort(), ids);
    times.forEach((t, i) => {
      assert.ok(ids[i] > timePrefix(t), `${ids[i]} after its own prefix`);
      if (i + 1 < times.length) assert.ok(ids[i] < timePrefix(times[i + 1]));
    });
  });

  it("encode time and randomness exactly as ULIDs do", function () {
    // The ULID spec's example: time 1469918176385 is 01ARYZ6S41.
    assert.equal(timePrefix(1_469_918_176_385), "01ARYZ6S41");
    assert.equal(messageId(0, new Uint8Array(10)), "0".repeat(26));
    assert.equal(messageId(0, new Uint8Array(10).fill(255)), "0".repeat(10) + "Z".repeat(16));
  });
});
