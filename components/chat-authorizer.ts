import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accessTokenDigest } from "../handlers/lib/access";
import { authorizerEnvironment } from "../handlers/lib/environment";
import { AUTHORIZER_HANDLER } from "../handlers/routes";
import type { WebSocketChatAuthorizer } from "./args";
import { ChatFunctionArgs, createChatFunction } from "./chat-function";
import {
  AccessSettings,
  checkAccessToken,
  checkAudience,
  checkIssuer,
  checkJwksUri,
} from "./settings";

export interface ChatAuthorizerArgs {
  api: aws.apigatewayv2.Api;
  /** Who may connect: a token, an issuer, or both (never neither: then there is no authorizer). */
  access: AccessSettings;
  /** The authorizer's function, as `createChatFunction` takes it, but for its environment. */
  function: Omit<ChatFunctionArgs, "handler" | "environment">;
}

/**
 * The `$connect` authorizer: a Lambda REQUEST authorizer with no identity sources. API Gateway
 * answers 401 without calling an authorizer when any identity source it is given is missing,
 * and the token may come in either of two places (header or query), so the function itself
 * finds it (handlers/lib/access.ts). Its function's resources are the component's children,
 * named `<component>-authorize-...`.
 */
export class ChatAuthorizer implements WebSocketChatAuthorizer {
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  readonly rolePolicy: aws.iam.RolePolicy;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly authorizer: aws.apigatewayv2.Authorizer;
  readonly permission: aws.lambda.Permission;

  constructor({ api, access, function: functionArgs }: ChatAuthorizerArgs) {
    const { componentName, parent } = functionArgs;

    const created = createChatFunction({
      ...functionArgs,
      handler: AUTHORIZER_HANDLER,
      environment: environmentOf(access),
    });
    const authorizer = createAuthorizer();
    const permission = createPermission();

    this.function = created.function;
    this.role = created.role;
    this.rolePolicy = created.rolePolicy;
    this.logGroup = created.logGroup;
    this.authorizer = authorizer;
    this.permission = permission;

    function createAuthorizer(): aws.apigatewayv2.Authorizer {
      return new aws.apigatewayv2.Authorizer(
        `${componentName}-authorizer`,
        {
          apiId: api.id,
          authorizerType: "REQUEST",
          authorizerUri: created.function.invokeArn,
        },
        { parent },
      );
    }

    function createPermission(): aws.lambda.Permission {
      return new aws.lambda.Permission(
        `${componentName}-${AUTHORIZER_HANDLER}-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: created.function.name,
          principal: "apigateway.amazonaws.com",
          // This API's authorizer, and nothing else.
          sourceArn: pulumi.interpolate`${api.executionArn}/authorizers/${authorizer.id}`,
        },
        { parent },
      );
    }
  }
}

/** The authorizer's own environment: a token only as its digest, an issuer once checked. */
function environmentOf({ accessToken, jwt }: AccessSettings): Record<string, pulumi.Input<string>> {
  return authorizerEnvironment<pulumi.Input<string>>({
    // Only the digest reaches the function, and it stays a secret in Pulumi's state.
    accessTokenSha256:
      accessToken === undefined
        ? undefined
        : pulumi.secret(
            pulumi.output(accessToken).apply((token) => accessTokenDigest(checkAccessToken(token))),
          ),
    // Another resource's issuer or client id is checked once it is known.
    jwt: jwt && {
      ...jwt,
      issuer: pulumi.output(jwt.issuer).apply(checkIssuer),
      audience: pulumi.output(jwt.audience).apply(checkAudience),
      jwksUri:
        jwt.jwksUri === undefined ? undefined : pulumi.output(jwt.jwksUri).apply(checkJwksUri),
    },
  });
}
