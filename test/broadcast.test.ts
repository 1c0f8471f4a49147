import { strict as assert } from "assert";
import { broadcast, BroadcastInterrupted, retryDeadline } from "../handlers/lib/broadcast";
import { ConnectionPoster } from "../handlers/lib/management";
import { captureConsole } from "./support/captured-log";

async function* pagesOf(...pages: string[][]): AsyncGenerator<string[]> {
  yield* pages;
}

describe("broadcast fan-out", function () {
  it("gives every post the invocation's retry deadline", async function () {
    const deadlines: (number | undefined)[] = [];
    const poster: ConnectionPoster = {
      async post(_id, _data, deadline) {
        deadlines.push(deadline);
      },
    };
    await broadcast(pagesOf(["a", "b"], ["c"]), "hi", {
      poster,
      forget: async () => {},
      concurrency: 2,
      deadline: 12345,
    });
    assert.deepEqual(deadlines, [12345, 12345, 12345]);
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
    const result = await broadcast(pagesOf(ids.slice(0, 20), ids.slice(20)), "hi", {
      poster,
      forget: async () => {},
      concurrency: 4,
    });
    assert.equal(most, 4);
    assert.deepEqual(posted.sort(), ids.sort());
    assert.equal(result.delivered, 50);
  });

  it("stops retrying a second before the Lambda's remaining time runs out", function () {
    const before = Date.now();
    const deadline = retryDeadline({ getRemainingTimeInMillis: () => 29_000 })!;
    assert.ok(
      deadline >= before + 28_000 && deadline <= Date.now() + 28_000,
      String(deadline - before),
    );
    assert.equal(retryDeadline(undefined), undefined);
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
    async function* failingPages(): AsyncGenerator<string[]> {
      yield ["a", "b", "c"];
      throw Object.assign(new Error("throttled"), {
        name: "ProvisionedThroughputExceededException",
      });
    }
    const err = await broadcast(failingPages(), "hi", {
      poster,
      forget: async () => {},
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
      const result = await broadcast(pagesOf(ids), "hi", {
        poster,
        forget: async () => {},
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
      const result = await broadcast(pagesOf(["0", "1", "2", "3"]), "hi", {
        poster,
        forget: async () => {},
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
});
