import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { createHash } from "crypto";
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
import { DEFAULT_NAME_CLAIM } from "../handlers/lib/access";
import {
  DEFAULT_CONNECTION_TTL_SECONDS,
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_HISTORY_RETENTION_SECONDS,
  DEFAULT_PRESENCE_NAME_LIMIT,
  DEFAULT_PRESENCE_NOTICES,
} from "../handlers/lib/environment";
import { DEFAULT_RATE_LIMIT } from "../handlers/lib/rate-limit";
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
  SECRET_SIGNATURE,
  SECRET_SIGNATURE_KEY,
  STACK,
  startProgram,
  TYPES,
  valueOf,
} from "./support/component-mocks";
import { configSet, documentedConfigSets, upConfig } from "./support/pulumi-stack";

const ROOT = path.resolve(__dirname, "..");
const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
// Keys that choose who may connect, tested on their own below.
const ACCESS_KEYS = ["accessToken", "authIssuer", "authAudience", "authJwksUri", "authNameClaim"];
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
  connectionsTableName: pulumi.Output<string>;
  tableName: pulumi.Output<string>;
}

/**
 * Runs index.ts afresh, as `pulumi up` would: the stack file `stackYaml` (`Pulumi.<stack>.yaml`'s
 * text) merged with Pulumi.yaml's defaults and checked by the Pulumi CLI's rules, then handed to
 * the program, secrets decrypted and marked secret.
 */
async function runStackFile(
  stackYaml: string,
): Promise<{ record: ProgramRecord; outputs: StackOutputs }> {
  const { config, secretKeys } = upConfig(STACK, stackYaml);
  const record = await startProgram(config, undefined, undefined, secretKeys);
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

/** Runs index.ts with `config` set on a fresh stack (`--secret` for `secretKeys`). */
function runStack(
  config: Record<string, string> = {},
  secretKeys: string[] = [],
): Promise<{ record: ProgramRecord; outputs: StackOutputs }> {
  const stackYaml = Object.entries(config).reduce(
    (yaml, [key, value]) =>
      configSet(yaml, PROJECT, { key, value, secret: secretKeys.includes(key) }),
    "",
  );
  return runStackFile(stackYaml);
}

describe("the stack program (index.ts)", () => {
  it("creates one WebSocketChat and exports its url, managementEndpoint and connectionsTableName (and tableName)", async () => {
    const { record, outputs } = await runStack();
    assert.equal(record.ofType(TYPES.component).length, 1);
    assert.deepEqual(Object.keys(outputs).sort(), [
      "connectionsTableName",
      "managementEndpoint",
      "tableName",
      "url",
    ]);
    assert.equal(
      await valueOf(outputs.url),
      `wss://chat-api-id.execute-api.${REGION}.amazonaws.com/dev`,
    );
    assert.equal(
      await valueOf(outputs.managementEndpoint),
      `https://chat-api-id.execute-api.${REGION}.amazonaws.com/dev`,
    );
    assert.equal(await valueOf(outputs.connectionsTableName), "chat-connections-7f3a2b1");
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
      messageRateBurst: "5",
      messageRatePerSecond: "2",
      historyRetentionSeconds: "3600",
      historyLimit: "20",
      presenceNotices: "false",
      presenceNameLimit: "7",
    };
    assert.deepEqual(
      Object.keys(config).sort(),
      Object.keys(configSchema)
        .filter((key) => !ACCESS_KEYS.includes(key))
        .sort(),
      "this test sets every documented key but those of access control (tested below)",
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
      assert.equal(fn.environment.variables.RATE_LIMIT_BURST, "5");
      assert.equal(fn.environment.variables.RATE_LIMIT_PER_SECOND, "2");
      assert.equal(record.named(`chat-${handler}-logs`).inputs.retentionInDays, 7);
    }
    assert.equal(record.named("chat-message").inputs.memorySize, 3008);
    assert.deepEqual(record.ofType(TYPES.table)[0].inputs.serverSideEncryption, {
      enabled: true,
      kmsKeyArn: KEY_ARN,
    });
    const history = record.named("chat-history").inputs.environment.variables;
    assert.equal(history.HISTORY_RETENTION_SECONDS, "3600");
    assert.equal(history.HISTORY_LIMIT, "20");
    assert.equal(history.PRESENCE_NOTICES, "false");
    assert.equal(history.PRESENCE_NAME_LIMIT, "7");
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
      messageRateBurst: DEFAULT_RATE_LIMIT.burst,
      messageRatePerSecond: DEFAULT_RATE_LIMIT.perSecond,
      accessToken: "", // no token: anyone may connect
      authIssuer: "",
      authAudience: "",
      authJwksUri: "",
      authNameClaim: DEFAULT_NAME_CLAIM,
      historyRetentionSeconds: DEFAULT_HISTORY_RETENTION_SECONDS,
      historyLimit: DEFAULT_HISTORY_LIMIT,
      presenceNotices: DEFAULT_PRESENCE_NOTICES,
      presenceNameLimit: DEFAULT_PRESENCE_NAME_LIMIT,
    };
    assert.deepEqual(Object.keys(configSchema).sort(), Object.keys(defaults).sort());
    for (const [key, schema] of Object.entries(configSchema)) {
      assert.ok(["string", "integer", "boolean"].includes(schema.type), `${key}: type`);
      assert.ok(schema.description.length > 20, `${key}: description`);
      // A key declared without a default is required by the CLI (pulumi/pulumi#21797).
      assert.ok("default" in schema, `${key}: has a default`);
      // As the program reads it: text (a fractional number is declared a string).
      assert.equal(String(schema.default), String(defaults[key]), `${key}: default`);
    }
  });

  it("is the websocket-chat TypeScript project, and the dev stack deploys to a region", () => {
    assert.equal(project.name, PROJECT);
    assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
    assert.ok(project.description);
    // Whatever else `pulumi config set` has added to it since.
    const dev = parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
    assert.match(dev.config["aws:region"], /^[a-z]{2}(-[a-z]+)+-\d$/);
  });

  it("deploys a fresh stack: `pulumi stack init dev`, then `pulumi up` with Pulumi.yaml's defaults", async () => {
    const { record } = await runStackFile("");
    assert.equal(record.ofType(TYPES.component).length, 1);
  });

  it("deploys the dev stack after its user runs every `pulumi config set` the README suggests", async () => {
    // A copy of Pulumi.dev.yaml, as `pulumi config set` would rewrite it.
    let stackYaml = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    for (const set of documentedConfigSets()) stackYaml = configSet(stackYaml, PROJECT, set);
    const { record } = await runStackFile(stackYaml);
    assert.equal(record.named("chat-message-route").inputs.routeKey, "pushmessage");
    assert.equal(record.ofType(TYPES.authorizer).length, 1);
  });

  it("deploys fractional rates set with `pulumi config set`", async () => {
    const { record } = await runStack({ throttleRateLimit: "0.5", messageRatePerSecond: "0.25" });
    assert.equal(
      record.ofType(TYPES.stage)[0].inputs.defaultRouteSettings.throttlingRateLimit,
      0.5,
    );
    assert.equal(
      record.named("chat-message").inputs.environment.variables.RATE_LIMIT_PER_SECOND,
      "0.25",
    );
  });
});

describe("access control from the stack's config (index.ts)", () => {
  const TOKEN = "tok-0123456789-ABCDEFGHIJ-secret";
  const API_ARN = `arn:aws:execute-api:${REGION}:123456789012:chat-api-id`;

  /** Every string in `wire`, split by whether it sits inside a secret. */
  function strings(
    wire: unknown,
    insideSecret = false,
    found = { secret: [] as string[], plain: [] as string[] },
  ) {
    if (typeof wire === "string") (insideSecret ? found.secret : found.plain).push(wire);
    else if (typeof wire === "object" && wire !== null) {
      const secret = insideSecret || (wire as any)[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE;
      for (const value of Object.values(wire)) strings(value, secret, found);
    }
    return found;
  }

  it("reads accessToken as a secret and gives only the authorizer its SHA-256, kept secret", async () => {
    const { record, outputs } = await runStack({ accessToken: TOKEN }, ["accessToken"]);
    const digest = createHash("sha256").update(TOKEN).digest("hex");
    const authorizer = record.named("chat-authorize");
    const variables = authorizer.wireInputs.environment.variables;
    assert.deepEqual(Object.keys(variables), ["ACCESS_TOKEN_SHA256"]);
    assert.equal(variables.ACCESS_TOKEN_SHA256.value, digest);
    const wire = strings(authorizer.wireInputs);
    assert.ok(wire.secret.includes(digest), "the digest is a secret in Pulumi's state");
    assert.ok(!wire.plain.includes(digest), "and never plain text");
    for (const handler of HANDLER_NAMES) {
      assert.equal(
        record.named(`chat-${handler}`).inputs.environment.variables.ACCESS_TOKEN_SHA256,
        undefined,
      );
    }
    for (const resource of record.resources) {
      assert.ok(
        !JSON.stringify(resource.wireInputs).includes(TOKEN),
        `${resource.name} holds the token`,
      );
    }
    for (const output of Object.values(outputs) as pulumi.Output<string>[])
      assert.ok(!(await valueOf(output)).includes(TOKEN));
  });

  it("guards $connect with a REQUEST authorizer that only this API may invoke", async () => {
    const { record } = await runStack({ accessToken: TOKEN }, ["accessToken"]);
    const [authorizer] = record.ofType(TYPES.authorizer);
    assert.equal(authorizer.inputs.apiId, "chat-api-id");
    assert.equal(authorizer.inputs.authorizerType, "REQUEST");
    // Any identity source would make API Gateway answer 401 whenever that one place is empty.
    assert.equal(authorizer.inputs.identitySources, undefined);
    const fnArn = `arn:aws:lambda:${REGION}:123456789012:function:${record.named("chat-authorize").inputs.name}`;
    assert.equal(
      authorizer.inputs.authorizerUri,
      `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${fnArn}/invocations`,
    );
    const connect = record.named("chat-connect-route");
    assert.equal(connect.inputs.authorizationType, "CUSTOM");
    assert.equal(connect.inputs.authorizerId, "chat-authorizer-id");
    assert.ok(connect.dependsOn.includes("chat-authorize-invoke"));
    for (const handler of ["disconnect", "message", "default"]) {
      assert.equal(record.named(`chat-${handler}-route`).inputs.authorizationType, undefined);
    }
    const permission = record.named("chat-authorize-invoke").inputs;
    assert.equal(permission.principal, "apigateway.amazonaws.com");
    assert.equal(permission.sourceArn, `${API_ARN}/authorizers/chat-authorizer-id`);
  });

  it("configures a JWT authorizer from authIssuer, authAudience, authJwksUri and authNameClaim", async () => {
    const { record } = await runStack({
      authIssuer: "https://issuer.example.com/",
      authAudience: "client-123",
      authJwksUri: "https://issuer.example.com/keys",
      authNameClaim: "nickname",
    });
    assert.deepEqual(record.named("chat-authorize").inputs.environment.variables, {
      AUTH_ISSUER: "https://issuer.example.com/",
      AUTH_AUDIENCE: "client-123",
      AUTH_JWKS_URI: "https://issuer.example.com/keys",
      AUTH_NAME_CLAIM: "nickname",
    });
    assert.equal(record.named("chat-connect-route").inputs.authorizationType, "CUSTOM");
  });

  it("leaves $connect open, with no authorizer, by default", async () => {
    const { record } = await runStack();
    assert.deepEqual(record.ofType(TYPES.authorizer), []);
    assert.equal(record.named("chat-connect-route").inputs.authorizationType, undefined);
    assert.throws(() => record.named("chat-authorize"));
  });

  it("refuses an accessToken shorter than 16 characters, without repeating it", async () => {
    await assert.rejects(runStack({ accessToken: "hunter2" }, ["accessToken"]), (err: Error) => {
      assert.match(err.message, /accessToken must be at least 16 printable characters/);
      assert.ok(!err.message.includes("hunter2"));
      return true;
    });
  });

  it("gives the authorizer both a token's digest and an issuer when both are set", async () => {
    const { record } = await runStack(
      { accessToken: TOKEN, authIssuer: "https://i.example", authAudience: "a" },
      ["accessToken"],
    );
    const variables = record.named("chat-authorize").wireInputs.environment.variables;
    assert.deepEqual(Object.keys(variables).sort(), [
      "ACCESS_TOKEN_SHA256",
      "AUTH_AUDIENCE",
      "AUTH_ISSUER",
      "AUTH_NAME_CLAIM",
    ]);
    assert.equal(record.ofType(TYPES.authorizer).length, 1);
  });

  for (const [what, config, message] of [
    ["an issuer without an audience", { authIssuer: "https://i.example" }, /audience must be set/],
    ["an audience without an issuer", { authAudience: "a" }, /issuer must be set/],
    ["an issuer over plain http", { authIssuer: "http://i.example", authAudience: "a" }, /https/],
  ] as const) {
    it(`refuses ${what}`, async () => {
      await assert.rejects(runStack(config, ["accessToken"]), message);
    });
  }
});
