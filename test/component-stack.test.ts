import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  DEFAULT_LAMBDA_ARCHITECTURE,
  DEFAULT_LAMBDA_RUNTIME,
  DEFAULT_LOG_RETENTION_DAYS,
  DEFAULT_MEMORY_MB,
  DEFAULT_THROTTLE,
} from "../components/settings";
import { DEFAULT_CONNECTION_TTL_SECONDS } from "../handlers/lib/config";
import {
  DEFAULT_MESSAGE_ROUTE,
  DEFAULT_ROUTE_SELECTION_EXPRESSION,
  HANDLER_NAMES,
} from "../handlers/routes";
import {
  finishProgram,
  ProgramRecord,
  PROJECT,
  REGION,
  startProgram,
  TYPES,
  valueOf,
} from "./support/component-mocks";

const ROOT = path.resolve(__dirname, "..");
const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const PROGRAM = path.join(ROOT, "index.ts");

interface ConfigKeySchema {
  type: string;
  description: string;
  default?: unknown;
}
const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
const configSchema: Record<string, ConfigKeySchema> = project.config;

interface StackOutputs {
  url: pulumi.Output<string>;
  managementEndpoint: pulumi.Output<string>;
  tableName: pulumi.Output<string>;
}

/** Runs index.ts afresh, as `pulumi up` would, with `config` as the stack's project config. */
async function runStack(
  config: Record<string, string> = {},
): Promise<{ record: ProgramRecord; outputs: StackOutputs }> {
  // As the CLI does: Pulumi.yaml's defaults, overridden by the stack's own values.
  const defaults = Object.fromEntries(
    Object.entries(configSchema).map(([key, schema]) => [key, String(schema.default)]),
  );
  const namespaced = Object.fromEntries(
    Object.entries({ ...defaults, ...config }).map(([key, value]) => [`${PROJECT}:${key}`, value]),
  );
  const record = await startProgram(namespaced);
  delete require.cache[require.resolve(PROGRAM)];
  try {
    const outputs: StackOutputs = require(PROGRAM);
    await finishProgram();
    return { record, outputs };
  } catch (err) {
    await finishProgram();
    throw err;
  }
}

describe("the stack program (index.ts)", () => {
  it("creates one WebSocketChat and exports its url, managementEndpoint and tableName", async () => {
    const { record, outputs } = await runStack();
    assert.equal(record.ofType(TYPES.component).length, 1);
    assert.deepEqual(Object.keys(outputs).sort(), ["managementEndpoint", "tableName", "url"]);
    assert.equal(
      await valueOf(outputs.url),
      `wss://chat-api-id.execute-api.${REGION}.amazonaws.com/dev`,
    );
    assert.equal(
      await valueOf(outputs.managementEndpoint),
      `https://chat-api-id.execute-api.${REGION}.amazonaws.com/dev`,
    );
    assert.equal(await valueOf(outputs.tableName), "chat-connections-7f3a2b1");
  });

  it("passes every config key Pulumi.yaml documents to the component", async () => {
    const config = {
      stageName: "prod",
      routeSelectionExpression: "$request.body.message",
      messageRoute: "pushmessage",
      connectionTtlSeconds: "900",
      throttleBurstLimit: "30",
      throttleRateLimit: "15",
      lambdaRuntime: "nodejs22.x",
      lambdaArchitecture: "x86_64",
      lambdaMemorySize: "3008",
      logRetentionDays: "7",
      kmsKeyArn: KEY_ARN,
    };
    assert.deepEqual(
      Object.keys(config).sort(),
      Object.keys(configSchema).sort(),
      "this test sets every documented key",
    );
    const { record, outputs } = await runStack(config);

    assert.equal(
      await valueOf(outputs.url),
      `wss://chat-api-id.execute-api.${REGION}.amazonaws.com/prod`,
    );
    assert.equal(
      record.ofType(TYPES.api)[0].inputs.routeSelectionExpression,
      "$request.body.message",
    );
    assert.equal(record.named("chat-message-route").inputs.routeKey, "pushmessage");
    assert.deepEqual(record.ofType(TYPES.stage)[0].inputs.defaultRouteSettings, {
      throttlingBurstLimit: 30,
      throttlingRateLimit: 15,
    });
    for (const handler of HANDLER_NAMES) {
      const fn = record.named(`chat-${handler}`).inputs;
      assert.equal(fn.runtime, "nodejs22.x");
      assert.deepEqual(fn.architectures, ["x86_64"]);
      assert.equal(fn.environment.variables.CONNECTION_TTL_SECONDS, "900");
      assert.equal(record.named(`chat-${handler}-logs`).inputs.retentionInDays, 7);
    }
    assert.equal(record.named("chat-message").inputs.memorySize, 3008);
    assert.deepEqual(record.ofType(TYPES.table)[0].inputs.serverSideEncryption, {
      enabled: true,
      kmsKeyArn: KEY_ARN,
    });
  });

  it("refuses a lambdaArchitecture Lambda does not offer", async () => {
    await assert.rejects(
      runStack({ lambdaArchitecture: "arm32" }),
      /lambda\.architecture must be one of arm64, x86_64, got arm32/,
    );
  });

  it("documents each config key in Pulumi.yaml with a type, a description and the component's own default", () => {
    const defaults: Record<string, unknown> = {
      stageName: "", // the stack name, computed
      routeSelectionExpression: DEFAULT_ROUTE_SELECTION_EXPRESSION,
      messageRoute: DEFAULT_MESSAGE_ROUTE,
      connectionTtlSeconds: DEFAULT_CONNECTION_TTL_SECONDS,
      throttleBurstLimit: DEFAULT_THROTTLE.burstLimit,
      throttleRateLimit: DEFAULT_THROTTLE.rateLimit,
      lambdaRuntime: DEFAULT_LAMBDA_RUNTIME,
      lambdaArchitecture: DEFAULT_LAMBDA_ARCHITECTURE,
      lambdaMemorySize: DEFAULT_MEMORY_MB.message,
      logRetentionDays: DEFAULT_LOG_RETENTION_DAYS,
      kmsKeyArn: "", // DynamoDB's AWS-owned key
    };
    assert.deepEqual(Object.keys(configSchema).sort(), Object.keys(defaults).sort());
    for (const [key, schema] of Object.entries(configSchema)) {
      assert.ok(["string", "integer"].includes(schema.type), `${key}: type`);
      assert.ok(schema.description.length > 20, `${key}: description`);
      // A key declared without a default is required by the CLI (pulumi/pulumi#21797).
      assert.ok("default" in schema, `${key}: has a default`);
      assert.equal(schema.default, defaults[key], `${key}: default`);
    }
  });

  it("is the websocket-chat TypeScript project, and the dev stack deploys to ap-northeast-1", () => {
    assert.equal(project.name, PROJECT);
    assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
    assert.ok(project.description);
    const dev = parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
    assert.deepEqual(dev, { config: { "aws:region": "ap-northeast-1" } });
  });
});
