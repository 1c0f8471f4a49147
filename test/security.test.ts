import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { WebSocketChat, WebSocketChatArgs } from "../components/web-socket-chat";
import {
  ACCOUNT,
  finishProgram,
  ProgramRecord,
  RecordedResource,
  REGION,
  startProgram,
  TYPES,
} from "./support/component-mocks";

/**
 * What the synthesized stack may do, whatever its arguments: the narrowest grants, checked
 * rule by rule over every policy and permission the component creates, not per known name,
 * so that a resource added later is held to the same rules.
 */

const API_ARN = `arn:aws:execute-api:${REGION}:${ACCOUNT}:chat-api-id`;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
}

const CONFIGURATIONS: [string, WebSocketChatArgs][] = [
  ["default arguments", {}],
  ["a shared access token", { access: { accessToken: pulumi.secret("x".repeat(32)) } }],
  [
    "a JWT issuer, a custom stage and route, no rate limit",
    {
      stageName: "prod",
      messageRoute: "pushmessage",
      routeSelectionExpression: "$request.body.message",
      messageRateLimit: { burst: 0 },
      access: { jwt: { issuer: "https://issuer.example.com/", audience: "client" } },
    },
  ],
];

describe("security of the synthesized stack", () => {
  for (const [what, args] of CONFIGURATIONS) {
    describe(`with ${what}`, () => {
      let record: ProgramRecord;
      let stage: string;
      before(async () => {
        record = await startProgram();
        new WebSocketChat("chat", args);
        await finishProgram();
        stage = record.ofType(TYPES.stage)[0].inputs.name;
      });

      /** Every resource ARN of this chat a function may be granted something on. */
      function ownResources(fn: RecordedResource): Set<string> {
        const allowed = new Set<string>();
        for (const table of record.ofType(TYPES.table)) {
          const arn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table.name}-7f3a2b1`;
          allowed.add(arn);
          for (const index of table.inputs.globalSecondaryIndexes ?? [])
            allowed.add(`${arn}/index/${index.name}`);
        }
        for (const method of ["POST", "GET", "DELETE"])
          allowed.add(`${API_ARN}/${stage}/${method}/@connections/*`);
        // Its own log streams, and no other function's.
        allowed.add(
          `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${fn.inputs.loggingConfig.logGroup}:*`,
        );
        return allowed;
      }

      function policyOf(fn: RecordedResource): Statement[] {
        const role = fn.inputs.role as string;
        const policies = record
          .ofType(TYPES.rolePolicy)
          .filter((policy) => role.endsWith(`/${policy.inputs.role}`));
        assert.equal(policies.length, 1, `${fn.name} has exactly one inline policy`);
        return JSON.parse(policies[0].inputs.policy).Statement;
      }

      it("grants no wildcard action, and each function nothing beyond this chat's tables, indexes, stage and its own logs", () => {
        const functions = record.ofType(TYPES.function);
        assert.ok(functions.length >= 4);
        for (const fn of functions) {
          const allowed = ownResources(fn);
          for (const statement of policyOf(fn)) {
            assert.equal(statement.Effect, "Allow");
            for (const action of [statement.Action].flat()) {
              assert.match(action, /^[a-z0-9-]+:[A-Za-z]+$/, `${fn.name}: action ${action}`);
            }
            for (const resource of [statement.Resource].flat()) {
              assert.ok(allowed.has(resource), `${fn.name}: ${resource} is not this chat's`);
            }
          }
        }
      });

      it("attaches no managed policy and lets only Lambda assume each role", () => {
        assert.deepEqual(
          record.resources.filter((r) => /PolicyAttachment|iam\/policy:Policy/.test(r.type)),
          [],
        );
        for (const role of record.ofType(TYPES.role)) {
          const trust = JSON.parse(role.inputs.assumeRolePolicy).Statement as Statement[];
          assert.deepEqual(
            trust.map((s) => [s.Effect, s.Action, s.Principal]),
            [["Allow", "sts:AssumeRole", { Service: "lambda.amazonaws.com" }]],
          );
        }
      });

      it("scopes every Lambda permission to API Gateway and one route of this stage, or this API's authorizer", () => {
        const routeKeys = record.ofType(TYPES.route).map((route) => route.inputs.routeKey);
        const authorizers = record.ofType(TYPES.authorizer).map((a) => `${a.name}-id`);
        const scopes = new Set([
          ...routeKeys.map((key: string) => `${API_ARN}/${stage}/${key}`),
          ...authorizers.map((id) => `${API_ARN}/authorizers/${id}`),
        ]);
        const permissions = record.ofType(TYPES.permission);
        for (const permission of permissions) {
          const { action, principal, sourceArn } = permission.inputs;
          assert.equal(action, "lambda:InvokeFunction");
          assert.equal(principal, "apigateway.amazonaws.com");
          assert.ok(scopes.has(sourceArn), `${permission.name}: sourceArn ${sourceArn}`);
          assert.ok(!sourceArn.includes("*"), `${permission.name}: no wildcard in ${sourceArn}`);
        }
        // One per function: every function API Gateway invokes, and nothing else.
        assert.deepEqual(
          permissions.map((p) => p.inputs.function).sort(),
          record
            .ofType(TYPES.function)
            .map((f) => f.inputs.name)
            .sort(),
        );
        assert.equal(permissions.length, routeKeys.length + authorizers.length);
      });

      it("guards $connect with the authorizer exactly when access control is asked for", () => {
        const connect = record.ofType(TYPES.route).find((r) => r.inputs.routeKey === "$connect")!;
        const authorizers = record.ofType(TYPES.authorizer);
        if (args.access) {
          assert.equal(authorizers.length, 1);
          assert.equal(connect.inputs.authorizationType, "CUSTOM");
          assert.equal(connect.inputs.authorizerId, `${authorizers[0].name}-id`);
        } else {
          assert.equal(authorizers.length, 0);
          assert.equal(connect.inputs.authorizationType, undefined);
        }
      });
    });
  }
});
