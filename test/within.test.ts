import { strict as assert } from "assert";
import { within } from "./support/within";

describe("within (test/support/within.ts): waits that give up with a name", function () {
  it("rejects with what it waited for once the time is up", async function () {
    const started = Date.now();
    await assert.rejects(within(50, "the $disconnect event", new Promise(() => {})), {
      message: "timed out after 50 ms waiting for the $disconnect event",
    });
    assert.ok(Date.now() - started >= 45, "not before the time is up");
  });

  it("passes on the promise's value or its own rejection when it settles in time", async function () {
    assert.equal(await within(1_000, "a value", Promise.resolve(7)), 7);
    await assert.rejects(within(1_000, "a failure", Promise.reject(new Error("its own"))), {
      message: "its own",
    });
  });
});
