import { strict as assert } from "assert";
import { eventually, within } from "./support/within";

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

describe("eventually (test/support/within.ts): polls a condition until a deadline", function () {
  it("resolves with the condition's first truthy value", async function () {
    let checks = 0;
    assert.equal(await eventually("the third check", () => ++checks >= 3 && checks, 1_000), 3);
  });

  it("rejects with what it waited for, and stops checking, once the time is up", async function () {
    let checks = 0;
    const started = Date.now();
    await assert.rejects(
      eventually("the sun to rise in the west", () => (checks++, false), 50),
      { message: "timed out after 50 ms waiting for the sun to rise in the west" },
    );
    assert.ok(Date.now() - started >= 45, "not before the time is up");
    const afterwards = checks;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(checks, afterwards, "no check after giving up");
  });

  it("waits for an asynchronous condition", async function () {
    let ready = false;
    setTimeout(() => (ready = true), 20);
    assert.equal(await eventually("ready", async () => ready), true);
  });
});
