import { strict as assert } from "assert";
import { invocationDeadline, sdkCallOptions } from "../handlers/lib/deadline";
import { INTEGRATION_TIMEOUT_MS } from "../handlers/lib/limits";

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

  it("ends no later than API Gateway's integration timeout allows, counted from the request", function () {
    const context = { getRemainingTimeInMillis: () => 29_000 };
    // A cold start took 5 s: Lambda's 29 s begin after it, API Gateway's when it got the request.
    const requestTimeEpoch = Date.now() - 5_000;
    assert.equal(
      invocationDeadline(context, requestTimeEpoch),
      requestTimeEpoch + INTEGRATION_TIMEOUT_MS - 1_000,
    );
    // Lambda's own limit still applies when it comes first.
    const before = Date.now();
    const short = invocationDeadline({ getRemainingTimeInMillis: () => 3_000 }, before)!;
    assert.ok(short <= Date.now() + 2_000 && short >= before + 2_000, String(short - before));
    // A request time no clock of this machine could share (a test's fixed clock) is ignored.
    const fixed = invocationDeadline(context, 1_700_000_000_000)!;
    assert.ok(fixed >= before + 28_000, String(fixed - before));
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
