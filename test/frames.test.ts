import { strict as assert } from "assert";
import {
  ackFrame,
  historyFrames,
  MAX_SEQ,
  maxMessageFrameBytes,
  messageFrame,
  presenceFrame,
} from "../handlers/lib/frames";
import { MAX_MESSAGE_BYTES } from "../handlers/lib/limits";

const message = (i: number, data: unknown = `message ${i}`) =>
  messageFrame({
    room: "r0",
    from: "ann",
    dataJson: JSON.stringify(data),
    sentAt: new Date(1_700_000_000_000 + i).toISOString(),
    id: `id${i}`,
  });

describe("chat.v1 frames", function () {
  it("a message frame carries type, room, from, data as sent, sentAt and id, in that order", function () {
    assert.equal(
      message(1, { n: [1, "two"] }),
      '{"type":"message","room":"r0","from":"ann","data":{"n":[1,"two"]},"sentAt":"2023-11-14T22:13:20.001Z","id":"id1"}',
    );
    assert.equal(JSON.parse(message(2, '{"still":"a string"}')).data, '{"still":"a string"}');
  });

  it("a presence frame holds the count and the names", function () {
    assert.deepEqual(JSON.parse(presenceFrame("r0", 3, ["al", "bo"])), {
      type: "presence",
      room: "r0",
      count: 3,
      names: ["al", "bo"],
    });
  });

  it("history fits in one frame when it can, and says so when it is empty", function () {
    const frames = historyFrames("r0", [message(1), message(2)]);
    assert.equal(frames.length, 1);
    assert.deepEqual(JSON.parse(frames[0]), {
      type: "history",
      room: "r0",
      messages: [JSON.parse(message(1)), JSON.parse(message(2))],
    });
    assert.deepEqual(JSON.parse(historyFrames("r0", [])[0]), {
      type: "history",
      room: "r0",
      messages: [],
    });
  });

  it("history splits into frames of at most 128 KB, keeping every message once and in order", function () {
    const big = "x".repeat(30_000);
    const frames = Array.from({ length: 50 }, (_, i) => message(i, i % 3 ? big : "small"));
    const split = historyFrames("r0", frames);
    assert.ok(split.length > 1, "one frame cannot hold 1 MB");
    for (const frame of split) assert.ok(Buffer.byteLength(frame) <= MAX_MESSAGE_BYTES);
    const replayed = split.flatMap(
      (frame) => (JSON.parse(frame) as { messages: unknown[] }).messages,
    );
    assert.deepEqual(
      replayed,
      frames.map((f) => JSON.parse(f)),
    );
    // Greedy: no two neighbours would have fitted together.
    for (let i = 1; i < split.length; i++) {
      const first = JSON.parse(split[i]).messages[0];
      assert.ok(
        Buffer.byteLength(split[i - 1]) + 1 + JSON.stringify(first).length > MAX_MESSAGE_BYTES,
      );
    }
  });

  it("history counts the comma between messages: a frame of exactly 128 KB is kept, one byte more is split", function () {
    const first = message(1, "a".repeat(60_000));
    const envelope = Buffer.byteLength(historyFrames("r0", [])[0]);
    const overhead = Buffer.byteLength(message(2, ""));
    const fill = MAX_MESSAGE_BYTES - envelope - Buffer.byteLength(first) - 1 - overhead;
    const exact = historyFrames("r0", [first, message(2, "b".repeat(fill))]);
    assert.equal(exact.length, 1);
    assert.equal(Buffer.byteLength(exact[0]), MAX_MESSAGE_BYTES);
    assert.equal(historyFrames("r0", [first, message(2, "b".repeat(fill + 1))]).length, 2);
  });

  it("a message of exactly the largest frame size fits a history frame on its own", function () {
    const limit = maxMessageFrameBytes("r0");
    const overhead = Buffer.byteLength(message(0, ""));
    const largest = message(0, "y".repeat(limit - overhead));
    assert.equal(Buffer.byteLength(largest), limit);
    // Even in a resume's reply, whose state takes the most room.
    const state = { since: MAX_SEQ, complete: false, latestSeq: MAX_SEQ };
    const [frame] = historyFrames("r0", [largest], state);
    assert.equal(Buffer.byteLength(frame), MAX_MESSAGE_BYTES);
    assert.ok(maxMessageFrameBytes("a".repeat(64)) < limit, "a longer room name leaves less");
  });

  it("a message frame with a seq carries it last; an ack and a resume's history carry their fields", function () {
    const frame = messageFrame({
      room: "r0",
      from: "ann",
      dataJson: '"hi"',
      sentAt: "2023-11-14T22:13:20.001Z",
      id: "id1",
      seq: 7,
    });
    assert.ok(frame.endsWith(',"id":"id1","seq":7}'));
    assert.deepEqual(
      JSON.parse(ackFrame({ clientId: "abcdefgh", id: "id1", seq: 7, duplicate: true })),
      {
        type: "ack",
        clientId: "abcdefgh",
        id: "id1",
        seq: 7,
        duplicate: true,
      },
    );
    const state = { since: 6, complete: true, latestSeq: 7 };
    assert.deepEqual(JSON.parse(historyFrames("r0", [frame], state)[0]), {
      type: "history",
      room: "r0",
      messages: [JSON.parse(frame)],
      ...state,
    });
  });
});
