import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { ChatAuthorizer } from "../components/chat-authorizer";
import { ChatRoute, ChatRouteArgs } from "../components/chat-route";
import { finishProgram, startProgram } from "./support/component-mocks";

describe("ChatRoute (components/chat-route.ts)", () => {
  /** A route of an API in a bare component, with or without an authorizer. */
  function routeArgs(
    parent: pulumi.ComponentResource,
    routeKey: string,
    authorizer?: ChatAuthorizer,
  ): ChatRouteArgs {
    const api = new aws.apigatewayv2.Api("t-api", { protocolType: "WEBSOCKET" }, { parent });
    const function_ = {
      componentName: "t",
      parent,
      statements: [],
      runtime: "nodejs24.x",
      architecture: "arm64",
      memorySize: 256,
      timeout: 10,
      environment: {},
      logRetentionDays: 14,
      tags: {},
    };
    return {
      api,
      stageName: "dev",
      routeKey,
      handler: routeKey === "$connect" ? "connect" : "message",
      function: function_,
      authorizer,
    };
  }

  /** The chat's authorizer, for the API and with the function settings of `args`. */
  function authorizerOf(args: ChatRouteArgs): ChatAuthorizer {
    return new ChatAuthorizer({
      api: args.api,
      access: { accessToken: "tok-0123456789-ABCDEFGHIJ" },
      function: args.function,
    });
  }

  afterEach(() => finishProgram());

  it("GIVEN an authorizer WHEN it is set on $connect THEN the route is CUSTOM-authorized by it", async () => {
    const record = await startProgram();
    const parent = new pulumi.ComponentResource("test:index:Parent", "t");
    const args = routeArgs(parent, "$connect");
    const route = new ChatRoute({ ...args, authorizer: authorizerOf(args) });
    await finishProgram();
    assert.ok(route.route);
    const inputs = record.named("t-connect-route").inputs;
    assert.equal(inputs.authorizationType, "CUSTOM");
    assert.equal(inputs.authorizerId, "t-authorizer-id");
  });

  for (const routeKey of ["sendmessage", "$default", "$disconnect"]) {
    it(`GIVEN an authorizer WHEN it is set on ${routeKey} THEN it throws as AWS CDK does`, async () => {
      await startProgram();
      const parent = new pulumi.ComponentResource("test:index:Parent", "t");
      const args = routeArgs(parent, routeKey);
      const authorizer = authorizerOf(args);
      assert.throws(
        () => new ChatRoute({ ...args, authorizer }),
        /^Error: You can only set a WebSocket authorizer to a \$connect route\.$/,
      );
    });
  }
});
