import { strict as assert } from "assert";
import { broadcast, retryDeadline } from "../handlers/lib/broadcast";
import { ConnectionPoster } from "../handlers/lib/management";

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
    await broadcast(pagesOf(["a", "b"], ["c"]), "hi", { poster, forget: async () => {}, concurrency: 2, deadline: 12345 });
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
    assert.ok(deadline >= before + 28_000 && deadline <= Date.now() + 28_000, String(deadline - before));
    assert.equal(retryDeadline(undefined), undefined);
  });
});
