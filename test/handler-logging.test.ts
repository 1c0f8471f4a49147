import { strict as assert } from "assert";
import { logError, logInfo } from "../handlers/lib/log";

describe("handler logs", function () {
  const original = {
    log: console.log,
    error: console.error,
    format: process.env.AWS_LAMBDA_LOG_FORMAT,
  };
  let written: unknown[][];

  beforeEach(function () {
    written = [];
    console.log = (...args: unknown[]) => written.push(args);
    console.error = (...args: unknown[]) => written.push(args);
  });
  afterEach(function () {
    console.log = original.log;
    console.error = original.error;
    if (original.format === undefined) delete process.env.AWS_LAMBDA_LOG_FORMAT;
    else process.env.AWS_LAMBDA_LOG_FORMAT = original.format;
  });

  it("hands Lambda's JSON log format one object, so the record's message stays structured", function () {
    process.env.AWS_LAMBDA_LOG_FORMAT = "JSON";
    logInfo("broadcast", { delivered: 3 });
    logError("post_failed", { connectionId: "abc=" });
    assert.deepEqual(written, [
      [{ event: "broadcast", delivered: 3 }],
      [{ event: "post_failed", connectionId: "abc=" }],
    ]);
  });

  it("writes one line of JSON text elsewhere (text format, local mode)", function () {
    delete process.env.AWS_LAMBDA_LOG_FORMAT;
    logInfo("broadcast", { delivered: 3 });
    process.env.AWS_LAMBDA_LOG_FORMAT = "Text";
    logError("post_failed", { connectionId: "abc=" });
    assert.deepEqual(written, [
      ['{"event":"broadcast","delivered":3}'],
      ['{"event":"post_failed","connectionId":"abc="}'],
    ]);
  });
});
