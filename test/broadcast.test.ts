import { strict as assert } from "assert";
import { broadcast, BroadcastInterrupted, Payloads } from "../handlers/lib/broadcast";
import { RoomMember } from "../handlers/lib/connection-store";
import { ConnectionPoster } from "../handlers/lib/connection-poster";
import { captureConsole } from "./support/captured-log";

/** Pages of plain members of the default room, from their ids. */
async function* pagesOf(...pages: string[][]): AsyncGenerator<RoomMember[]> {
  for (const page of pages) yield page.map((id) => member(id, false));
}

function member(connectionId: string, structured: boolean): RoomMember {
  return { connectionId, room: "general", name: "anonymous", structured };
}

const HI: Payloads = { plain: "hi", structured: "hi" };

describe("broadcast fan-out", function () {
  it("gives every post the invocation's retry deadline", async function () {
    const deadlines: (number | undefined)[] = [];
    const poster: ConnectionPoster = {
      async post(_id, _data, deadline) {
        deadlines.push(deadline);
      },
    };
    await broadcast(pagesOf(["a", "b"], ["c"]), HI, {
      poster,
      forget: async () => true,
      concurrency: 2,
      deadline: 12345,
    });
    assert.deepEqual(deadlines, [12345, 12345, 12345]);
  });

  it("sends plain members the plain payload and structured members the structured one, each built once", async function () {
    const received = new Map<string, Uint8Array>();
    const poster: ConnectionPoster = {
      async post(id, data) {
        received.set(id, data);
      },
    };
    async function* mixed(): AsyncGenerator<RoomMember[]> {
      yield [member("p1", false), member("s1", true)];
      yield [member("s2", true), member("p2", false)];
    }
    const result = await broadcast(
      mixed(),
      { plain: "hello", structured: '{"type":"message","data":"hello"}' },
      { poster, forget: async () => true, concurrency: 3 },
    );
    assert.equal(result.delivered, 4);
    assert.equal(Buffer.from(received.get("p1")!).toString(), "hello");
    assert.equal(Buffer.from(received.get("s1")!).toString(), '{"type":"message","data":"hello"}');
    assert.equal(received.get("p1"), received.get("p2"), "one buffer for every plain recipient");
    assert.equal(received.get("s1"), received.get("s2"), "one buffer for every structured one");
  });

  it("skips the members of a format that has no payload, without counting them", async function () {
    const posted: string[] = [];
    const poster: ConnectionPoster = {
      async post(id) {
        posted.push(id);
      },
    };
    async function* mixed(): AsyncGenerator<RoomMember[]> {
      yield [member("p1", false), member("s1", true), member("p2", false)];
    }
    const result = await broadcast(
      mixed(),
      { structured: "{}" },
      { poster, forget: async () => true, concurrency: 2 },
    );
    assert.deepEqual(posted, ["s1"]);
    assert.deepEqual(result, { delivered: 1, gone: 0, connecting: 0, failed: 0, failures: {} });
  });

  it("never has more than `concurrency` posts in flight, and posts each id once", async function () {
    let inFlight = 0;
    let most = 0;
    const posted: string[] = [];
    const poster: ConnectionPoster = {
      async post(id) {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        posted.push(id);
        inFlight--;
      },
    };
    const ids = Array.from({ length: 50 }, (_, i) => `id${i}`);
    const result = await broadcast(pagesOf(ids.slice(0, 20), ids.slice(20)), HI, {
      poster,
      forget: async () => true,
      concurrency: 4,
    });
    assert.equal(most, 4);
    assert.deepEqual(posted.sort(), ids.sort());
    assert.equal(result.delivered, 50);
  });

  it("reads each page once however many workers wait for it, and gets past empty pages", async function () {
    const pages = [["a", "b"], [], [], ["c"], ["d", "e", "f"]];
    let reads = 0;
    const counted: AsyncIterable<RoomMember[]> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          reads++;
          await new Promise((resolve) => setImmediate(resolve));
          const page = pages[reads - 1];
          return page
            ? { done: false, value: page.map((id) => member(id, false)) }
            : { done: true, value: undefined };
        },
      }),
    };
    const posted: string[] = [];
    const result = await broadcast(counted, HI, {
      poster: { post: async (id) => void posted.push(id) },
      forget: async () => true,
      concurrency: 16,
    });
    assert.deepEqual(posted.sort(), ["a", "b", "c", "d", "e", "f"]);
    assert.equal(result.delivered, 6);
    assert.equal(reads, pages.length + 1, "one read per page, and one that says there are no more");
  });

  it("when reading recipients fails part-way, finishes the posts in flight and reports what they reached", async function () {
    let inFlight = 0;
    const poster: ConnectionPoster = {
      async post() {
        inFlight++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
      },
    };
    async function* failingPages(): AsyncGenerator<RoomMember[]> {
      yield ["a", "b", "c"].map((id) => member(id, false));
      throw Object.assign(new Error("throttled"), {
        name: "ProvisionedThroughputExceededException",
      });
    }
    const err = await broadcast(failingPages(), HI, {
      poster,
      forget: async () => true,
      concurrency: 8,
    }).then(
      () => assert.fail("expected the broadcast to fail"),
      (reason: unknown) => reason,
    );
    assert.equal(inFlight, 0, "no post left running when the broadcast answers");
    assert.ok(err instanceof BroadcastInterrupted);
    assert.equal(err.result.delivered, 3);
    assert.equal((err.cause as Error).name, "ProvisionedThroughputExceededException");
  });

  it("logs at most ten failed recipients per broadcast and counts every failure by error name", async function () {
    const poster: ConnectionPoster = {
      async post(id) {
        throw Object.assign(new Error("denied"), {
          name: id.startsWith("f") ? "ForbiddenException" : "TimeoutError",
        });
      },
    };
    const ids = [...Array.from({ length: 25 }, (_, i) => `f${i}`), "t0", "t1"];
    const logged = captureConsole();
    try {
      const result = await broadcast(pagesOf(ids), HI, {
        poster,
        forget: async () => true,
        concurrency: 4,
      });
      assert.equal(result.failed, 27);
      assert.deepEqual(result.failures, { ForbiddenException: 25, TimeoutError: 2 });
    } finally {
      logged.restore();
    }
    assert.equal(logged.lines.length, 10);
    const entries = logged.entries;
    assert.equal(entries.length, 10);
    for (const entry of entries) {
      assert.equal(entry.event, "post_failed");
      assert.ok(ids.includes(String(entry.connectionId)), String(entry.connectionId));
      assert.match(String(entry.errorName), /^(ForbiddenException|TimeoutError)$/);
    }
  });

  it("counts failures under any error name, Object.prototype members included", async function () {
    const names = ["__proto__", "constructor", "toString", "constructor"];
    const poster: ConnectionPoster = {
      async post(id) {
        throw Object.assign(new Error("odd"), { name: names[Number(id)] });
      },
    };
    const originalError = console.error;
    console.error = () => {};
    try {
      const result = await broadcast(pagesOf(["0", "1", "2", "3"]), HI, {
        poster,
        forget: async () => true,
        concurrency: 1,
      });
      assert.equal(result.failed, 4);
      assert.deepEqual(Object.entries(result.failures).sort(), [
        ["__proto__", 1],
        ["constructor", 2],
        ["toString", 1],
      ]);
      assert.equal(Object.getPrototypeOf(result.failures), Object.prototype);
    } finally {
      console.error = originalError;
    }
  });

  it("asks to forget every recipient that answers 410, and counts the ones kept as connecting", async function () {
    const poster: ConnectionPoster = {
      async post(id) {
        if (id !== "here") throw Object.assign(new Error("gone"), { name: "GoneException" });
      },
    };
    const asked: string[] = [];
    const result = await broadcast(
      pagesOf(["here", "left", "joining"]),
      { plain: "hi" },
      {
        poster,
        // The store keeps a record too young to trust a 410 for.
        forget: async (id) => {
          asked.push(id);
          return id !== "joining";
        },
        concurrency: 2,
      },
    );
    assert.deepEqual(asked.sort(), ["joining", "left"]);
    assert.deepEqual(
      { delivered: result.delivered, gone: result.gone, connecting: result.connecting },
      { delivered: 1, gone: 1, connecting: 1 },
    );
  });
});
