import { strict as assert } from "assert";
import { bundleHandler } from "../handlers/bundle";
import { WebSocketChat, WebSocketChatArgs } from "../components/web-socket-chat";
import { DEFAULT_CONNECTION_TTL_SECONDS } from "../handlers/lib/environment";
import { HANDLER_NAMES, HandlerName, routeKeyOf } from "../handlers/routes";
import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_SECONDS } from "../components/settings";
import {
  ACCOUNT,
  finishProgram,
  ProgramRecord,
  REGION,
  startProgram,
  TYPES,
  valueOf,
} from "./support/component-mocks";

const API_ARN = `arn:aws:execute-api:${REGION}:${ACCOUNT}:chat-api-id`;
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/chat-connections-7f3a2b1`;
const HISTORY_TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/chat-room-history-7f3a2b1`;
const logStreamsArn = (handler: HandlerName) =>
  `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${functionInputs(handler).name}:*`;
const DEFAULT_ROUTE_KEYS = Object.fromEntries(
  HANDLER_NAMES.map((handler) => [handler, routeKeyOf(handler)]),
) as Record<HandlerName, string>;

let record: ProgramRecord;
let chat: WebSocketChat;

/** Runs a program that creates one component named "chat", and waits until it is registered. */
async function deploy(args?: WebSocketChatArgs): Promise<void> {
  record = await startProgram();
  chat = new WebSocketChat("chat", args);
  await finishProgram();
}

function functionInputs(handler: HandlerName, prefix = "chat") {
  return record.named(`${prefix}-${handler}`).inputs;
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

function statementsOf(handler: HandlerName): Statement[] {
  const doc = JSON.parse(record.named(`chat-${handler}-policy`).inputs.policy);
  assert.equal(doc.Version, "2012-10-17");
  return doc.Statement;
}

/** Each (action, resource) pair a policy allows. */
function grantsOf(handler: HandlerName): string[] {
  return statementsOf(handler)
    .flatMap((s) => {
      assert.equal(s.Effect, "Allow");
      return [s.Action]
        .flat()
        .flatMap((action) => [s.Resource].flat().map((resource) => `${action} on ${resource}`));
    })
    .sort();
}

describe("WebSocketChat component", () => {
  describe("with default arguments", () => {
    before(() => deploy());

    it("creates a WEBSOCKET API that selects routes by $request.body.action", () => {
      const [api] = record.ofType(TYPES.api);
      assert.equal(api.inputs.protocolType, "WEBSOCKET");
      assert.equal(api.inputs.routeSelectionExpression, "$request.body.action");
      assert.equal(api.inputs.name, undefined, "the API is auto-named");
    });

    it("creates an auto-named, on-demand connections table keyed by connectionId with TTL on expiresAt", () => {
      const { inputs } = record.named("chat-connections");
      assert.equal(inputs.name, undefined, "a fixed table name collides across stacks");
      assert.equal(inputs.hashKey, "connectionId");
      assert.deepEqual(inputs.attributes, [
        { name: "connectionId", type: "S" },
        { name: "room", type: "S" },
        { name: "member", type: "S" },
      ]);
      assert.equal(inputs.rangeKey, undefined);
      assert.equal(inputs.billingMode, "PAY_PER_REQUEST");
      assert.equal(inputs.serverSideEncryption, undefined, "DynamoDB's free AWS-owned key");
      assert.deepEqual(inputs.ttl, { enabled: true, attributeName: "expiresAt" });
    });

    it("indexes the connections by room (sort key: format, then id), projecting what a broadcast and `who` read", () => {
      const { inputs } = record.named("chat-connections");
      assert.deepEqual(inputs.globalSecondaryIndexes, [
        {
          name: "byRoom",
          keySchemas: [
            { attributeName: "room", keyType: "HASH" },
            { attributeName: "member", keyType: "RANGE" },
          ],
          projectionType: "INCLUDE",
          nonKeyAttributes: ["expiresAt", "name", "protocol"],
        },
      ]);
    });

    it("routes each key of the route table ($connect, sendmessage, history, ...) to its own integration", () => {
      const routes = record.ofType(TYPES.route);
      assert.deepEqual(
        routes.map((r) => r.inputs.routeKey).sort(),
        Object.values(DEFAULT_ROUTE_KEYS).sort(),
      );
      assert.ok(Object.values(DEFAULT_ROUTE_KEYS).includes("sendmessage"));
      for (const handler of HANDLER_NAMES) {
        const route = record.named(`chat-${handler}-route`);
        assert.equal(route.inputs.routeKey, DEFAULT_ROUTE_KEYS[handler]);
        assert.equal(route.inputs.apiId, "chat-api-id");
        assert.equal(route.inputs.target, `integrations/chat-${handler}-integration-id`);
      }
    });

    it("integrates each route with its function as AWS_PROXY over POST on the function's invokeArn", () => {
      assert.equal(record.ofType(TYPES.integration).length, HANDLER_NAMES.length);
      for (const handler of HANDLER_NAMES) {
        const { inputs } = record.named(`chat-${handler}-integration`);
        assert.equal(inputs.apiId, "chat-api-id");
        assert.equal(inputs.integrationType, "AWS_PROXY");
        assert.equal(inputs.integrationMethod, "POST");
        const fnArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionInputs(handler).name}`;
        assert.equal(
          inputs.integrationUri,
          `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${fnArn}/invocations`,
        );
      }
    });

    it("creates each integration only after API Gateway may invoke its function", () => {
      for (const handler of HANDLER_NAMES) {
        assert.ok(
          record.named(`chat-${handler}-integration`).dependsOn.includes(`chat-${handler}-invoke`),
          `${handler} integration must depend on its permission`,
        );
      }
    });

    it("lets only API Gateway invoke each function, and only for its route on this API's stage", () => {
      const permissions = record.ofType(TYPES.permission);
      assert.equal(permissions.length, HANDLER_NAMES.length);
      for (const handler of HANDLER_NAMES) {
        const { inputs } = record.named(`chat-${handler}-invoke`);
        assert.equal(inputs.action, "lambda:InvokeFunction");
        assert.equal(inputs.principal, "apigateway.amazonaws.com");
        assert.equal(inputs.function, functionInputs(handler).name);
        assert.equal(inputs.sourceArn, `${API_ARN}/dev/${DEFAULT_ROUTE_KEYS[handler]}`);
      }
    });

    it("gives each function its own role that only Lambda can assume", () => {
      const roles = record.ofType(TYPES.role);
      assert.equal(roles.length, HANDLER_NAMES.length);
      for (const handler of HANDLER_NAMES) {
        const role = record.named(`chat-${handler}-role`);
        assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy), {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: "sts:AssumeRole",
              Principal: { Service: "lambda.amazonaws.com" },
            },
          ],
        });
        const roleName = functionInputs(handler).name;
        assert.equal(role.inputs.name, roleName, "named as its function");
        assert.equal(functionInputs(handler).role, `arn:aws:iam::${ACCOUNT}:role/${roleName}`);
        assert.equal(record.named(`chat-${handler}-policy`).inputs.role, roleName);
      }
      assert.equal(
        record.ofType(TYPES.rolePolicy).length,
        HANDLER_NAMES.length,
        "one inline policy per role, nothing attached besides",
      );
    });

    it("grants $connect PutItem on the table, and for join notices Query on the room index and posting, plus its own log streams", () => {
      assert.deepEqual(grantsOf("connect"), [
        `dynamodb:PutItem on ${TABLE_ARN}`,
        `dynamodb:Query on ${TABLE_ARN}/index/byRoom`,
        `execute-api:ManageConnections on ${API_ARN}/dev/POST/@connections/*`,
        `logs:CreateLogStream on ${logStreamsArn("connect")}`,
        `logs:PutLogEvents on ${logStreamsArn("connect")}`,
      ]);
    });

    it("grants $disconnect DeleteItem on the table, and for leave notices Query on the room index and posting, plus its own log streams", () => {
      assert.deepEqual(grantsOf("disconnect"), [
        `dynamodb:DeleteItem on ${TABLE_ARN}`,
        `dynamodb:Query on ${TABLE_ARN}/index/byRoom`,
        `execute-api:ManageConnections on ${API_ARN}/dev/POST/@connections/*`,
        `logs:CreateLogStream on ${logStreamsArn("disconnect")}`,
        `logs:PutLogEvents on ${logStreamsArn("disconnect")}`,
      ]);
    });

    it("grants the message route GetItem, DeleteItem and the rate limit's UpdateItem on the table, Query on the room index only, PutItem, Query and UpdateItem on the history, and posting to this API's stage", () => {
      assert.deepEqual(grantsOf("message"), [
        `dynamodb:DeleteItem on ${TABLE_ARN}`,
        `dynamodb:GetItem on ${TABLE_ARN}`,
        `dynamodb:PutItem on ${HISTORY_TABLE_ARN}`,
        `dynamodb:Query on ${TABLE_ARN}/index/byRoom`,
        `dynamodb:Query on ${HISTORY_TABLE_ARN}`,
        `dynamodb:UpdateItem on ${TABLE_ARN}`,
        `dynamodb:UpdateItem on ${HISTORY_TABLE_ARN}`,
        `execute-api:ManageConnections on ${API_ARN}/dev/POST/@connections/*`,
        `logs:CreateLogStream on ${logStreamsArn("message")}`,
        `logs:PutLogEvents on ${logStreamsArn("message")}`,
      ]);
    });

    it("grants $default only reading the sender's record (for its format) and posting to this API's stage", () => {
      assert.deepEqual(grantsOf("default"), [
        `dynamodb:GetItem on ${TABLE_ARN}`,
        `execute-api:ManageConnections on ${API_ARN}/dev/POST/@connections/*`,
        `logs:CreateLogStream on ${logStreamsArn("default")}`,
        `logs:PutLogEvents on ${logStreamsArn("default")}`,
      ]);
    });

    it("never grants a wildcard action or a resource beyond the two tables, the room index, this stage's @connections or the function's own log streams", () => {
      for (const handler of HANDLER_NAMES) {
        const allowed = [
          TABLE_ARN,
          HISTORY_TABLE_ARN,
          `${TABLE_ARN}/index/byRoom`,
          `${API_ARN}/dev/POST/@connections/*`,
          logStreamsArn(handler),
        ];
        for (const statement of statementsOf(handler)) {
          for (const action of [statement.Action].flat()) {
            assert.ok(!action.includes("*"), `${handler}: wildcard action ${action}`);
          }
          for (const resource of [statement.Resource].flat()) {
            assert.ok(
              allowed.includes(resource),
              `${handler}: resource ${resource} is wider than needed`,
            );
          }
        }
      }
    });

    it("creates each function only after its role policy exists", () => {
      for (const handler of HANDLER_NAMES) {
        assert.ok(
          record.named(`chat-${handler}`).dependsOn.includes(`chat-${handler}-policy`),
          handler,
        );
      }
    });

    it("creates each function's log group as /aws/lambda/<function name> with the retention, and logs JSON into it", () => {
      assert.equal(record.ofType(TYPES.logGroup).length, HANDLER_NAMES.length);
      for (const handler of HANDLER_NAMES) {
        const fn = functionInputs(handler);
        const logGroup = record.named(`chat-${handler}-logs`).inputs;
        assert.equal(logGroup.name, `/aws/lambda/${fn.name}`);
        assert.equal(logGroup.retentionInDays, 14);
        assert.deepEqual(fn.loggingConfig, { logGroup: logGroup.name, logFormat: "JSON" });
        assert.ok(record.named(`chat-${handler}`).dependsOn.includes(`chat-${handler}-logs`));
      }
    });

    it("names functions uniquely within Lambda's limits", () => {
      const names = HANDLER_NAMES.map((handler) => functionInputs(handler).name as string);
      assert.equal(new Set(names).size, HANDLER_NAMES.length);
      for (const name of names) assert.match(name, /^[A-Za-z0-9_-]{1,64}$/);
    });

    it("deploys each handler's bundle as index.mjs with handler index.handler on nodejs24.x and arm64", async () => {
      for (const handler of HANDLER_NAMES) {
        const fn = functionInputs(handler);
        assert.equal(fn.runtime, "nodejs24.x");
        assert.deepEqual(fn.architectures, ["arm64"]);
        assert.equal(fn.handler, "index.handler");
        const assets = await fn.code.assets;
        assert.deepEqual(Object.keys(assets), ["index.mjs"]);
        assert.equal(
          await assets["index.mjs"].text,
          await bundleHandler(handler),
          `${handler} deploys its own bundle`,
        );
      }
    });

    it("gives the message route 29 s and one full vCPU (1769 MB), the other handlers 10 s and 256 MB", () => {
      assert.equal(functionInputs("message").timeout, 29);
      assert.equal(functionInputs("message").memorySize, 1769);
      for (const handler of HANDLER_NAMES.filter((h) => h !== "message")) {
        assert.equal(functionInputs(handler).timeout, 10, handler);
        assert.equal(functionInputs(handler).memorySize, 256, handler);
      }
    });

    it("tells every function the table, the management endpoint, the TTL, the routing and the rate limit", () => {
      for (const handler of HANDLER_NAMES) {
        assert.deepEqual(functionInputs(handler).environment, {
          variables: {
            TABLE_NAME: "chat-connections-7f3a2b1",
            MANAGEMENT_ENDPOINT: `https://chat-api-id.execute-api.${REGION}.amazonaws.com/dev`,
            CONNECTION_TTL_SECONDS: String(DEFAULT_CONNECTION_TTL_SECONDS),
            MESSAGE_ROUTE: "sendmessage",
            ROUTE_SELECTION_EXPRESSION: "$request.body.action",
            RATE_LIMIT_BURST: "10",
            RATE_LIMIT_PER_SECOND: "1",
            HISTORY_TABLE_NAME: "chat-room-history-7f3a2b1",
            HISTORY_RETENTION_SECONDS: "86400",
            HISTORY_LIMIT: "50",
            PRESENCE_NOTICES: "true",
            PRESENCE_NAME_LIMIT: "100",
          },
        });
      }
    });

    it("deploys through one auto-deploying stage named after the stack, with no Deployment resource", () => {
      const stages = record.ofType(TYPES.stage);
      assert.equal(stages.length, 1);
      assert.equal(stages[0].inputs.name, "dev");
      assert.equal(stages[0].inputs.apiId, "chat-api-id");
      assert.equal(stages[0].inputs.autoDeploy, true);
      assert.equal(stages[0].inputs.deploymentId, undefined);
      assert.deepEqual(record.ofType(TYPES.deployment), []);
      for (const handler of HANDLER_NAMES) {
        assert.ok(
          stages[0].dependsOn.includes(`chat-${handler}-route`),
          "the first deployment carries every route",
        );
      }
    });

    it("sets both stage throttling limits, above zero", () => {
      const { defaultRouteSettings } = record.ofType(TYPES.stage)[0].inputs;
      assert.equal(defaultRouteSettings.throttlingBurstLimit, 100);
      assert.equal(defaultRouteSettings.throttlingRateLimit, 50);
    });

    it("enables no stage logging that needs the account-wide CloudWatch role", () => {
      const { inputs } = record.ofType(TYPES.stage)[0];
      assert.equal(inputs.accessLogSettings, undefined);
      assert.equal(inputs.defaultRouteSettings.loggingLevel, undefined);
      assert.equal(inputs.defaultRouteSettings.dataTraceEnabled, undefined);
      assert.deepEqual(
        record.resources.filter((r) => r.type.startsWith("aws:apigateway/")),
        [],
        "no account-level API Gateway settings",
      );
    });

    it("exports the wss:// URL, the https:// management endpoint and the table name", async () => {
      assert.equal(
        await valueOf(chat.url),
        `wss://chat-api-id.execute-api.${REGION}.amazonaws.com/dev`,
      );
      assert.equal(
        await valueOf(chat.managementEndpoint),
        `https://chat-api-id.execute-api.${REGION}.amazonaws.com/dev`,
      );
      assert.equal(await valueOf(chat.connectionsTableName), "chat-connections-7f3a2b1");
      // The names from before connectionsTable*, kept working.
      assert.equal(await valueOf(chat.tableName), "chat-connections-7f3a2b1");
      assert.equal(chat.table, chat.connectionsTable);
    });

    it("exposes the API, stage, table and each route's resources as escape hatches", async () => {
      assert.equal(await valueOf(chat.api.id), "chat-api-id");
      assert.equal(await valueOf(chat.stage.name), "dev");
      assert.equal(await valueOf(chat.connectionsTable.name), "chat-connections-7f3a2b1");
      assert.deepEqual(Object.keys(chat.handlers).sort(), [...HANDLER_NAMES].sort());
      assert.equal(
        await valueOf(chat.handlers.message.function.name),
        functionInputs("message").name,
      );
      assert.equal(await valueOf(chat.handlers.message.route.routeKey), "sendmessage");
      assert.equal(await valueOf(chat.handlers.connect.route.routeKey), "$connect");
    });

    it("parents every child to the component, a websocket-chat:index:WebSocketChat", () => {
      const [component] = record.ofType(TYPES.component);
      assert.equal(component.name, "chat");
      const children = record.resources.filter((r) => r !== component);
      assert.equal(
        children.length,
        2 + 1 + HANDLER_NAMES.length * 7 + 1,
        "two tables, API, 7 resources per route, stage",
      );
      for (const child of children)
        assert.equal(child.parent, "chat", `${child.type} ${child.name}`);
    });
    it("keeps stacks deployed under its first type, chat:index:WebSocketChat, through an alias", () => {
      const [component] = record.ofType(TYPES.component);
      assert.deepEqual(component.aliasTypes, ["chat:index:WebSocketChat"]);
    });

    it("keeps the caller's own aliases beside that one", async () => {
      const own = await startProgram();
      new WebSocketChat("chat", {}, { aliases: [{ type: "team:index:Chat" }] });
      await finishProgram();
      const [component] = own.ofType(TYPES.component);
      assert.deepEqual(component.aliasTypes.sort(), [
        "chat:index:WebSocketChat",
        "team:index:Chat",
      ]);
    });
  });

  describe("with arguments", () => {
    it("selects routes by $request.body.message and broadcasts on pushmessage when so configured", async () => {
      await deploy({
        routeSelectionExpression: "$request.body.message",
        messageRoute: "pushmessage",
      });
      assert.equal(
        record.ofType(TYPES.api)[0].inputs.routeSelectionExpression,
        "$request.body.message",
      );
      const route = record.named("chat-message-route").inputs;
      assert.equal(route.routeKey, "pushmessage");
      assert.equal(
        record.named("chat-message-invoke").inputs.sourceArn,
        `${API_ARN}/dev/pushmessage`,
      );
      assert.equal(await valueOf(chat.handlers.message.route.routeKey), "pushmessage");
      for (const handler of HANDLER_NAMES) {
        const { variables } = functionInputs(handler).environment;
        assert.equal(variables.ROUTE_SELECTION_EXPRESSION, "$request.body.message");
        assert.equal(variables.MESSAGE_ROUTE, "pushmessage");
      }
    });

    it("applies every argument over its default", async () => {
      await deploy({
        stageName: "prod",
        connectionTtlSeconds: 600,
        throttle: { burstLimit: 20, rateLimit: 10 },
        lambda: {
          runtime: "nodejs22.x",
          architecture: "x86_64",
          memorySize: { message: 3008, connect: 512, history: 512 },
          timeout: { message: 20, default: 5, history: 15 },
        },
        logRetentionDays: 30,
        history: { retentionSeconds: 3600, limit: 20 },
      });
      const stage = record.ofType(TYPES.stage)[0].inputs;
      assert.equal(stage.name, "prod");
      assert.deepEqual(stage.defaultRouteSettings, {
        throttlingBurstLimit: 20,
        throttlingRateLimit: 10,
      });
      assert.equal(
        await valueOf(chat.url),
        `wss://chat-api-id.execute-api.${REGION}.amazonaws.com/prod`,
      );
      assert.ok(
        grantsOf("default").includes(
          `execute-api:ManageConnections on ${API_ARN}/prod/POST/@connections/*`,
        ),
      );
      for (const handler of HANDLER_NAMES) {
        const fn = functionInputs(handler);
        assert.equal(fn.runtime, "nodejs22.x");
        assert.deepEqual(fn.architectures, ["x86_64"]);
        assert.equal(fn.environment.variables.CONNECTION_TTL_SECONDS, "600");
        assert.equal(
          fn.environment.variables.MANAGEMENT_ENDPOINT,
          `https://chat-api-id.execute-api.${REGION}.amazonaws.com/prod`,
        );
        assert.equal(record.named(`chat-${handler}-logs`).inputs.retentionInDays, 30);
      }
      const memory = Object.fromEntries(
        HANDLER_NAMES.map((h) => [h, functionInputs(h).memorySize]),
      );
      const timeouts = Object.fromEntries(HANDLER_NAMES.map((h) => [h, functionInputs(h).timeout]));
      assert.deepEqual(memory, { ...DEFAULT_MEMORY_MB, message: 3008, connect: 512, history: 512 });
      assert.deepEqual(timeouts, {
        ...DEFAULT_TIMEOUT_SECONDS,
        message: 20,
        default: 5,
        history: 15,
      });
      assert.equal(functionInputs("history").environment.variables.HISTORY_LIMIT, "20");
      assert.equal(
        functionInputs("message").environment.variables.HISTORY_RETENTION_SECONDS,
        "3600",
      );
    });

    it("tags every child that takes tags", async () => {
      const tags = { project: "chat", owner: "team-a" };
      await deploy({ tags });
      const taggable: string[] = [
        TYPES.api,
        TYPES.stage,
        TYPES.table,
        TYPES.function,
        TYPES.role,
        TYPES.logGroup,
      ];
      const tagged = record.resources.filter((r) => taggable.includes(r.type));
      assert.equal(tagged.length, 1 + 1 + 2 + 3 * HANDLER_NAMES.length);
      for (const resource of tagged)
        assert.deepEqual(resource.inputs.tags, tags, `${resource.type} ${resource.name}`);
    });

    it("refuses throttle limits and TTLs that are not positive, and stage names API Gateway would refuse", async () => {
      record = await startProgram();
      try {
        assert.throws(() => new WebSocketChat("a", { throttle: { burstLimit: 0 } }), /burstLimit/);
        assert.throws(() => new WebSocketChat("b", { throttle: { rateLimit: 0 } }), /rateLimit/);
        assert.throws(() => new WebSocketChat("c", { throttle: { rateLimit: -5 } }), /rateLimit/);
        assert.throws(
          () => new WebSocketChat("d", { connectionTtlSeconds: 0 }),
          /connectionTtlSeconds/,
        );
        assert.throws(() => new WebSocketChat("e", { messageRoute: "$connect" }), /messageRoute/);
        assert.throws(
          () => new WebSocketChat("f", { stageName: "team.prod" }),
          /stageName "team.prod"/,
        );
      } finally {
        await finishProgram();
      }
    });
  });

  describe("in two stacks of the project", () => {
    it("names the functions and log groups of each stack apart, since Lambda names are per account and region", async () => {
      const namesIn = async (stack: string) => {
        const stackRecord = await startProgram({}, stack);
        new WebSocketChat("chat", {});
        await finishProgram();
        return stackRecord.ofType(TYPES.function).map((f) => f.inputs.name as string);
      };
      const dev = await namesIn("dev");
      const prod = await namesIn("prod");
      assert.equal(dev.length, HANDLER_NAMES.length);
      assert.deepEqual(
        dev.filter((name) => prod.includes(name)),
        [],
      );
    });
  });

  describe("two instances in one stack", () => {
    before(async () => {
      record = await startProgram();
      new WebSocketChat("chat", {});
      new WebSocketChat("support", {});
      await finishProgram();
    });

    it("give every resource a distinct name", () => {
      const names = record.resources.map((r) => `${r.type}::${r.name}`);
      assert.equal(names.length, 2 * (1 + 2 + 1 + 1 + 7 * HANDLER_NAMES.length));
      assert.equal(new Set(names).size, names.length);
    });

    it("name their functions and log groups apart even when nothing but the component name differs", () => {
      const functionNames = record.ofType(TYPES.function).map((f) => f.inputs.name as string);
      assert.equal(new Set(functionNames).size, 2 * HANDLER_NAMES.length);
      for (const name of functionNames)
        assert.match(name, /^(chat|support)-/, "named after their component");
    });

    it("keep separate tables, functions and log groups, each granting only its own table", () => {
      const tables = record.ofType(TYPES.table).map((t) => t.name);
      assert.deepEqual(tables.sort(), [
        "chat-connections",
        "chat-room-history",
        "support-connections",
        "support-room-history",
      ]);
      const logGroups = record.ofType(TYPES.logGroup).map((l) => l.inputs.name);
      assert.equal(new Set(logGroups).size, 2 * HANDLER_NAMES.length);
      assert.deepEqual(
        record
          .ofType(TYPES.function)
          .filter((f) => f.name.startsWith("support-"))
          .map((f) => f.inputs.loggingConfig.logGroup)
          .sort(),
        record
          .ofType(TYPES.logGroup)
          .filter((l) => l.name.startsWith("support-"))
          .map((l) => l.inputs.name)
          .sort(),
      );
      const supportPolicy = record.named("support-connect-policy").inputs.policy as string;
      assert.ok(supportPolicy.includes("table/support-connections-"));
      assert.ok(!supportPolicy.includes("chat-connections"));
    });
  });
});
