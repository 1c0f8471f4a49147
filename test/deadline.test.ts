import { strict as assert } from "assert";
import { invocationDeadline, sdkCallOptions } from "../handlers/lib/deadline";

describe("invocation deadline", function () {
  it("ends a second before the Lambda's remaining time runs out, leaving time to answer", function () {
    const before = Date.now();
    const deadline = invocationDeadline({ getRemainingTimeInMillis: () => 10_000 })!;
    assert.ok(
      deadline >= before + 9_000 && deadline <= Date.now() + 9_000,
      String(deadline - before),
    );
    assert.equal(invocationDeadline(undefined), undefined);
  });

  it("gives an SDK call an abort signal that fires at the deadline, and none without one", async function () {
    assert.deepEqual(sdkCallOptions(undefined), {});
    const { abortSignal } = sdkCallOptions(Date.now() + 50);
    assert.ok(abortSignal && !abortSignal.aborted);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(abortSignal.aborted);
    assert.ok(sdkCallOptions(Date.now() - 1).abortSignal, "a passed deadline still gets a signal");
  });
});
