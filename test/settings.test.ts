import { HANDLER_NAMES } from "../handlers/routes";
import { strict as assert } from "assert";
import {
  DEFAULT_MEMORY_MB,
  DEFAULT_TIMEOUT_SECONDS,
  resolveSettings,
} from "../components/settings";
import { DEFAULT_CONNECTION_TTL_SECONDS } from "../handlers/lib/environment";

describe("resolveSettings: one resolution of the chat's arguments for pulumi up and npm start", () => {
  it("fills every default, the stage from the stack name", () => {
    const settings = resolveSettings({}, "dev");
    assert.equal(settings.stageName, "dev");
    assert.equal(settings.routeSelectionExpression, "$request.body.action");
    assert.equal(settings.messageRoute, "sendmessage");
    assert.equal(settings.connectionTtlSeconds, DEFAULT_CONNECTION_TTL_SECONDS);
    assert.deepEqual(settings.throttle, { burstLimit: 100, rateLimit: 50 });
    assert.deepEqual(settings.lambda, {
      runtime: "nodejs24.x",
      architecture: "arm64",
      memorySize: DEFAULT_MEMORY_MB,
      timeout: DEFAULT_TIMEOUT_SECONDS,
    });
    assert.equal(settings.logRetentionDays, 14);
    assert.deepEqual(settings.tags, {});
  });

  it("gives the broadcast API Gateway's 29 s and every other handler 10 s", () => {
    const { timeout } = resolveSettings({}, "dev").lambda;
    assert.equal(timeout.message, 29);
    for (const handler of HANDLER_NAMES.filter((name) => name !== "message"))
      assert.equal(timeout[handler], 10, handler);
  });

  it("overrides one handler's memory or timeout and keeps the others' defaults", () => {
    const { lambda } = resolveSettings(
      { lambda: { memorySize: { message: 3008 }, timeout: { connect: 5 } } },
      "dev",
    );
    assert.deepEqual(lambda.memorySize, { ...DEFAULT_MEMORY_MB, message: 3008 });
    assert.deepEqual(lambda.timeout, { ...DEFAULT_TIMEOUT_SECONDS, connect: 5 });
  });

  const refused: [string, Parameters<typeof resolveSettings>[0], string, RegExp][] = [
    ["a $ route as the message route", { messageRoute: "$connect" }, "dev", /messageRoute/],
    ["an empty message route", { messageRoute: "" }, "dev", /messageRoute/],
    ["a stack name API Gateway refuses as a stage", {}, "team.prod", /stageName "team\.prod"/],
    ["a stage name with a slash", { stageName: "a/b" }, "dev", /stageName "a\/b"/],
    [
      "an expression that does not read the body",
      { routeSelectionExpression: "$request.header.x" },
      "dev",
      /routeSelectionExpression/,
    ],
    ["a TTL of 0", { connectionTtlSeconds: 0 }, "dev", /connectionTtlSeconds/],
    ["a fractional TTL", { connectionTtlSeconds: 1.5 }, "dev", /connectionTtlSeconds/],
    ["a burst of 0", { throttle: { burstLimit: 0 } }, "dev", /throttle\.burstLimit/],
    ["a negative rate", { throttle: { rateLimit: -1 } }, "dev", /throttle\.rateLimit/],
    ["a runtime older than Node 22", { lambda: { runtime: "nodejs20.x" } }, "dev", /runtime/],
    ["a runtime that is not Node.js", { lambda: { runtime: "python3.13" } }, "dev", /runtime/],
    [
      "memory Lambda does not offer",
      { lambda: { memorySize: { message: 64 } } },
      "dev",
      /lambda\.memorySize\.message/,
    ],
    [
      "a timeout past Lambda's 900 s",
      { lambda: { timeout: { connect: 901 } } },
      "dev",
      /lambda\.timeout\.connect/,
    ],
    [
      "a handler that does not exist",
      { lambda: { timeout: { sendmessage: 5 } as never } },
      "dev",
      /no handler "sendmessage"/,
    ],
    ["a retention CloudWatch refuses", { logRetentionDays: 10 }, "dev", /logRetentionDays/],
  ];
  for (const [what, args, stack, message] of refused) {
    it(`refuses ${what}, naming the argument`, () => {
      assert.throws(() => resolveSettings(args, stack), message);
    });
  }
});
