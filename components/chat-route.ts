import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AUTHORIZED_ROUTE_KEY, HandlerName } from "../handlers/routes";
import type { WebSocketChatAuthorizer, WebSocketChatRouteHandler } from "./args";
import { ChatFunctionArgs, createChatFunction } from "./chat-function";

/** One route of a chat's API: what it runs, and on which route key. */
export interface ChatRouteArgs {
  api: aws.apigatewayv2.Api;
  /** The stage whose route this is: the invoke permission names it. */
  stageName: pulumi.Input<string>;
  routeKey: string;
  handler: HandlerName;
  /** The route's function, as `createChatFunction` takes it. */
  function: Omit<ChatFunctionArgs, "handler">;
  /** Guards the route: `$connect` only, the one route API Gateway authorizes. */
  authorizer?: WebSocketChatAuthorizer;
}

/**
 * One route of the chat: its function (with role, policy and log group), the permission for
 * API Gateway to invoke it on this route only, the Lambda proxy integration, and the route.
 * The resources are the component's children, named `<component>-<handler>-...`.
 */
export class ChatRoute implements WebSocketChatRouteHandler {
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  readonly rolePolicy: aws.iam.RolePolicy;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly permission: aws.lambda.Permission;
  readonly integration: aws.apigatewayv2.Integration;
  readonly route: aws.apigatewayv2.Route;

  constructor(args: ChatRouteArgs) {
    const { api, stageName, routeKey, handler, authorizer } = args;
    // As AWS CDK's WebSocketRoute: API Gateway checks a client once, when it connects.
    if (authorizer && routeKey !== AUTHORIZED_ROUTE_KEY) {
      throw new Error("You can only set a WebSocket authorizer to a $connect route.");
    }
    const { componentName, parent } = args.function;
    const prefix = `${componentName}-${handler}`;

    const created = createChatFunction({ ...args.function, handler });
    const permission = createPermission();
    const integration = createIntegration();
    const route = createApiRoute();

    this.function = created.function;
    this.role = created.role;
    this.rolePolicy = created.rolePolicy;
    this.logGroup = created.logGroup;
    this.permission = permission;
    this.integration = integration;
    this.route = route;

    function createPermission(): aws.lambda.Permission {
      return new aws.lambda.Permission(
        `${prefix}-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: created.function.name,
          principal: "apigateway.amazonaws.com",
          // This route of this API's stage, and nothing else.
          sourceArn: pulumi.interpolate`${api.executionArn}/${stageName}/${routeKey}`,
        },
        { parent },
      );
    }

    function createIntegration(): aws.apigatewayv2.Integration {
      return new aws.apigatewayv2.Integration(
        `${prefix}-integration`,
        {
          apiId: api.id,
          integrationType: "AWS_PROXY",
          // Lambda integrations of WebSocket APIs are invoked with POST.
          integrationMethod: "POST",
          integrationUri: created.function.invokeArn,
        },
        // The first request must not reach the function before API Gateway may invoke it.
        { parent, dependsOn: [permission] },
      );
    }

    function createApiRoute(): aws.apigatewayv2.Route {
      return new aws.apigatewayv2.Route(
        `${prefix}-route`,
        {
          apiId: api.id,
          routeKey,
          target: pulumi.interpolate`integrations/${integration.id}`,
          ...(authorizer
            ? { authorizationType: "CUSTOM", authorizerId: authorizer.authorizer.id }
            : {}),
        },
        // The auto-deploying stage serves a route as soon as it changes. A new route key
        // replaces the permission (its sourceArn) but updates the route in place, and the
        // integration, unchanged, holds nothing back: the route waits for the permission itself,
        // and nobody connects through an authorizer API Gateway may not yet invoke.
        { parent, dependsOn: authorizer ? [permission, authorizer.permission] : [permission] },
      );
    }
  }
}
