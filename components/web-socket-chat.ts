import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "crypto";
import { accessTokenDigest } from "../handlers/lib/access";
import { authorizerEnvironment } from "../handlers/lib/environment";
import { isRateLimited } from "../handlers/lib/rate-limit";
import {
  CONNECTIONS_TABLE,
  HISTORY_TABLE,
  keyAttributes,
  TableSchema,
} from "../handlers/lib/tables";
import {
  AUTHORIZER_HANDLER,
  ChatRoute,
  chatRoutes,
  FunctionName,
  GrantConditions,
  ROUTES,
} from "../handlers/routes";
import { BUNDLE_FILE_NAME, BUNDLE_HANDLER, bundleHandler } from "../handlers/bundle";
import {
  AccessSettings,
  AUTHORIZER_MEMORY_MB,
  AUTHORIZER_TIMEOUT_SECONDS,
  checkAccessToken,
  checkAudience,
  checkIssuer,
  checkJwksUri,
  isOpen,
  resolveSettings,
} from "./settings";
import { handlerEnvironment } from "./environment";
import {
  allowWriteLogs,
  GrantTargets,
  LAMBDA_ASSUME_ROLE_POLICY,
  policyDocument,
  PolicyStatement,
  statementsFor,
} from "./permissions";

import type {
  ChatAuthorizer,
  ChatFunction,
  PerHandler,
  WebSocketChatArgs,
  WebSocketChatHandlers,
  WebSocketChatRouteHandler,
} from "./args";
import { INPUT_ARGUMENTS } from "./args";

export * from "./args";

/**
 * A complete WebSocket chat: an API Gateway WebSocket API whose routes run the Lambda
 * handlers in handlers/, a DynamoDB table of live connections, and a stage with throttling.
 * Every client that sends `{"action":"sendmessage","data":"..."}` reaches every connected client.
 */
export class WebSocketChat extends pulumi.ComponentResource {
  /**
   * The URL clients connect to, the stage's `invokeUrl`:
   * `wss://{apiId}.execute-api.{region}.amazonaws.com/{stage}` (`amazonaws.com.cn` in China).
   */
  public readonly url: pulumi.Output<string>;
  /**
   * The `@connections` management endpoint, the same host over https:
   * `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`.
   */
  public readonly managementEndpoint: pulumi.Output<string>;
  /** The name of the connections table. */
  public readonly connectionsTableName: pulumi.Output<string>;
  /**
   * The name of the connections table, as `connectionsTableName`: kept for programs written
   * before that name.
   * @deprecated Use `connectionsTableName`.
   */
  public readonly tableName: pulumi.Output<string>;

  /** The WebSocket API (escape hatch). */
  public readonly api: aws.apigatewayv2.Api;
  /** The auto-deployed stage (escape hatch). */
  public readonly stage: aws.apigatewayv2.Stage;
  /** The connections table (escape hatch). */
  public readonly connectionsTable: aws.dynamodb.Table;
  /**
   * The connections table, as `connectionsTable`: kept for programs written before that name.
   * @deprecated Use `connectionsTable`.
   */
  public readonly table: aws.dynamodb.Table;
  /** The table of each room's recent messages (escape hatch). */
  public readonly historyTable: aws.dynamodb.Table;
  /** Each route's function and the resources around it, by handler (`connect`, `message`, ...). */
  public readonly handlers: WebSocketChatHandlers;

  constructor(name: string, args: WebSocketChatArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    // `pulumi package add` requires the type's package to be the package.json name; stacks
    // deployed under the type's first name keep their resources through the alias.
    super(
      "websocket-chat:index:WebSocketChat",
      componentNameOf(name),
      {},
      pulumi.mergeOptions(opts, { aliases: [{ type: "chat:index:WebSocketChat" }] }),
    );

    const settings = resolveSettings(plainWhereNeeded(args), pulumi.getStack());
    const {
      stageName,
      routeSelectionExpression,
      messageRoute,
      throttle,
      lambda,
      logRetentionDays,
      kmsKeyArn,
      history,
      presence,
      tags,
      messageRateLimit,
      access,
    } = settings;
    // The steps below are function declarations (SST's layout), which have no `this` of their own.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const parent = this;

    const table = createTable("connections", CONNECTIONS_TABLE);
    // Always there (an empty on-demand table costs nothing), so that turning retention to 0
    // and back never replaces it. With retention 0 no function may read or write it.
    const historyTable = createTable("room-history", HISTORY_TABLE);
    const api = createApi();
    // For the functions, which exist before the stage does (the stage waits for every route).
    const managementEndpoint = managementEndpointOf(api, stageName);
    // Each function's whole permission set, besides writing its own logs: the route table's.
    const grantTargets: GrantTargets = {
      table,
      roomIndex: CONNECTIONS_TABLE.index!.name,
      historyTable,
      api,
      stageName,
      kmsKeyArn,
    };
    const grantConditions: GrantConditions = {
      keepsHistory: history.retentionSeconds > 0,
      presenceNotices: presence.notices,
      rateLimited: isRateLimited(messageRateLimit),
    };
    const authorizer = isOpen(access) ? undefined : createAuthorizer(access);
    // One route per handler (handlers/routes.ts), so the handler names the route's resources.
    const handlers = Object.fromEntries(
      chatRoutes(messageRoute).map((route) => [route.handler, createRouteHandler(route)]),
    ) as PerHandler<WebSocketChatRouteHandler>;
    const stage = createStage();

    this.api = api;
    this.stage = stage;
    this.connectionsTable = table;
    this.table = table;
    this.historyTable = historyTable;
    this.handlers = handlers;
    this.url = stage.invokeUrl;
    this.managementEndpoint = managementEndpointOf(api, stage.name);
    this.connectionsTableName = table.name;
    this.tableName = table.name;
    this.registerOutputs({
      url: this.url,
      managementEndpoint: this.managementEndpoint,
      connectionsTableName: this.connectionsTableName,
      tableName: this.tableName,
    });

    /** A table shaped as `schema` says (handlers/lib/tables.ts, which local mode reads too). */
    function createTable(purpose: string, schema: TableSchema): aws.dynamodb.Table {
      const { index } = schema;
      // Auto-named: a fixed table name collides across stacks.
      return new aws.dynamodb.Table(
        `${name}-${purpose}`,
        {
          attributes: keyAttributes(schema).map((attribute) => ({ name: attribute, type: "S" })),
          hashKey: schema.hashKey,
          rangeKey: schema.rangeKey,
          globalSecondaryIndexes: index && [
            {
              name: index.name,
              // keySchemas: the provider deprecates an index's hashKey and rangeKey.
              keySchemas: [
                { attributeName: index.hashKey, keyType: "HASH" },
                ...(index.rangeKey ? [{ attributeName: index.rangeKey, keyType: "RANGE" }] : []),
              ],
              projectionType: "INCLUDE",
              nonKeyAttributes: [...index.nonKeyAttributes],
            },
          ],
          billingMode: "PAY_PER_REQUEST",
          // Left out, DynamoDB encrypts with its AWS-owned key for free; `{ enabled: true }`
          // without a key ARN would select the AWS-managed aws/dynamodb key instead (KMS charges,
          // and a key that outlives the stack).
          serverSideEncryption: kmsKeyArn === undefined ? undefined : { enabled: true, kmsKeyArn },
          // Items carry their expiry in epoch seconds; DynamoDB deletes them lazily.
          ttl: { enabled: true, attributeName: schema.ttlAttribute },
          tags,
        },
        { parent },
      );
    }

    function createApi(): aws.apigatewayv2.Api {
      return new aws.apigatewayv2.Api(
        `${name}-api`,
        { protocolType: "WEBSOCKET", routeSelectionExpression, tags },
        { parent },
      );
    }

    /** A function with its own role, log group and grants (besides writing its own logs). */
    function createFunction(
      handler: FunctionName,
      statements: PolicyStatement[],
      settings: {
        memorySize: number;
        timeout: number;
        environment: Record<string, pulumi.Input<string>>;
      },
    ): ChatFunction {
      const prefix = `${name}-${handler}`;
      const functionName = handlerResourceName(name, handler);
      const logGroup = new aws.cloudwatch.LogGroup(
        `${prefix}-logs`,
        { name: `/aws/lambda/${functionName}`, retentionInDays: logRetentionDays, tags },
        { parent, ...KEEP_NAME },
      );
      const role = new aws.iam.Role(
        `${prefix}-role`,
        // Named as its function: an auto-name could pass IAM's 64 characters.
        { name: functionName, assumeRolePolicy: LAMBDA_ASSUME_ROLE_POLICY, tags },
        { parent, ...KEEP_NAME },
      );
      const rolePolicy = new aws.iam.RolePolicy(
        `${prefix}-policy`,
        { role: role.id, policy: policyDocument([...statements, allowWriteLogs(logGroup)]) },
        { parent },
      );
      const fn = new aws.lambda.Function(
        prefix,
        {
          name: functionName,
          role: role.arn,
          runtime: lambda.runtime,
          architectures: [lambda.architecture],
          memorySize: settings.memorySize,
          timeout: settings.timeout,
          handler: BUNDLE_HANDLER,
          code: pulumi.output(bundleHandler(handler)).apply(
            (code) =>
              new pulumi.asset.AssetArchive({
                [BUNDLE_FILE_NAME]: new pulumi.asset.StringAsset(code),
              }),
          ),
          environment: { variables: settings.environment },
          loggingConfig: { logGroup: logGroup.name, logFormat: "JSON" },
          tags,
        },
        // IAM changes take a moment to propagate: create the function only once its
        // permissions exist, not merely its role.
        { parent, dependsOn: [rolePolicy], ...KEEP_NAME },
      );
      return { function: fn, role, rolePolicy, logGroup };
    }

    /** One route: its function, and the wiring to the API. */
    function createRouteHandler({ routeKey, handler }: ChatRoute): WebSocketChatRouteHandler {
      const prefix = `${name}-${handler}`;
      const grants = ROUTES[handler].grants(grantConditions);
      const created = createFunction(handler, statementsFor(grants, grantTargets), {
        memorySize: lambda.memorySize[handler],
        timeout: lambda.timeout[handler],
        // Every route's function gets the same settings: each reads only what it uses.
        environment: handlerEnvironment<pulumi.Input<string>>(settings, {
          connectionsTableName: table.name,
          historyTableName: historyTable.name,
          managementEndpoint,
        }),
      });
      const permission = new aws.lambda.Permission(
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
      const integration = new aws.apigatewayv2.Integration(
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
      // Only $connect can be authorized: API Gateway checks a client once, when it connects.
      const authorized = routeKey === "$connect" ? authorizer : undefined;
      const route = new aws.apigatewayv2.Route(
        `${prefix}-route`,
        {
          apiId: api.id,
          routeKey,
          target: pulumi.interpolate`integrations/${integration.id}`,
          ...(authorized
            ? { authorizationType: "CUSTOM", authorizerId: authorized.authorizer.id }
            : {}),
        },
        // The auto-deploying stage serves a route as soon as it changes. A new route key
        // replaces the permission (its sourceArn) but updates the route in place, and the
        // integration, unchanged, holds nothing back: the route waits for the permission itself,
        // and nobody connects through an authorizer API Gateway may not yet invoke.
        { parent, dependsOn: authorized ? [permission, authorized.permission] : [permission] },
      );
      return { ...created, route, integration, permission };
    }

    /**
     * The `$connect` authorizer: a Lambda REQUEST authorizer with no identity sources. API
     * Gateway answers 401 without calling an authorizer when any identity source it is given
     * is missing, and the token may come in either of two places (header or query), so the
     * function itself finds it (handlers/lib/access.ts).
     */
    function createAuthorizer({ accessToken, jwt }: AccessSettings): ChatAuthorizer {
      const environment = authorizerEnvironment<pulumi.Input<string>>({
        // Only the digest reaches the function, and it stays a secret in Pulumi's state.
        accessTokenSha256:
          accessToken === undefined
            ? undefined
            : pulumi.secret(
                pulumi
                  .output(accessToken)
                  .apply((token) => accessTokenDigest(checkAccessToken(token))),
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
      const created = createFunction(AUTHORIZER_HANDLER, [], {
        memorySize: AUTHORIZER_MEMORY_MB,
        timeout: AUTHORIZER_TIMEOUT_SECONDS,
        environment,
      });
      const authorizer = new aws.apigatewayv2.Authorizer(
        `${name}-authorizer`,
        {
          apiId: api.id,
          authorizerType: "REQUEST",
          authorizerUri: created.function.invokeArn,
        },
        { parent },
      );
      const permission = new aws.lambda.Permission(
        `${name}-${AUTHORIZER_HANDLER}-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: created.function.name,
          principal: "apigateway.amazonaws.com",
          // This API's authorizer, and nothing else.
          sourceArn: pulumi.interpolate`${api.executionArn}/authorizers/${authorizer.id}`,
        },
        { parent },
      );
      return { ...created, authorizer, permission };
    }

    function createStage(): aws.apigatewayv2.Stage {
      return new aws.apigatewayv2.Stage(
        `${name}-stage`,
        {
          apiId: api.id,
          name: stageName,
          // Deploys every route change by itself; a separate Deployment resource would go stale.
          autoDeploy: true,
          // Both limits, always: one left unset is 0, and every request gets 429. No
          // loggingLevel or access logs: they need the account-wide API Gateway CloudWatch
          // role (aws.apigateway.Account), which a stack should not change for the account.
          defaultRouteSettings: {
            throttlingBurstLimit: throttle.burstLimit,
            throttlingRateLimit: throttle.rateLimit,
          },
          tags,
        },
        // The first automatic deployment then already carries every route.
        { parent, dependsOn: Object.values(handlers).map((h) => h.route) },
      );
    }
  }
}

/**
 * The @connections endpoint of one of `api`'s stages: the API's own `apiEndpoint`
 * (`wss://{apiId}.execute-api.{region}.{DNS suffix}`, right in every partition) over https, and
 * the stage. Never assembled from a region and a hard-coded `amazonaws.com`.
 */
function managementEndpointOf(
  api: aws.apigatewayv2.Api,
  stageName: pulumi.Input<string>,
): pulumi.Output<string> {
  const host = api.apiEndpoint.apply((endpoint) => endpoint.replace(/^wss:\/\//, "https://"));
  return pulumi.interpolate`${host}/${stageName}`;
}

// Lambda function names and IAM role names: at most 64 of [A-Za-z0-9_-] (IAM takes more
// characters, Lambda no more).
const HANDLER_RESOURCE_NAME_LENGTH = 64;

/**
 * The name of a handler's function, its role and (after `/aws/lambda/`) its log group:
 * `<component>-<handler>-<8 random hex digits>`, within Lambda's and IAM's 64 characters for any
 * component name (a long one is shortened). IAM role names are unique per account, function and
 * log group names per account and region, but stack names only per Pulumi organization or
 * backend: names made of the project, stack and component alone collide when two people deploy
 * the same stack name into one account, or one person deploys it to two regions
 * (EntityAlreadyExists). 32 random bits do not. The name is drawn at every run and kept at its
 * first value by KEEP_NAME, as Pulumi keeps an auto-name, so it never changes once deployed; a
 * stack deployed under the earlier names keeps them, nothing replaced. Chosen here rather than
 * auto-named by Pulumi, whose auto-name of `<component>-<handler>-role` would pass IAM's limit
 * for component names over 40 characters.
 */
function handlerResourceName(componentName: string, handler: FunctionName): string {
  const suffix = `-${handler}-${randomBytes(4).toString("hex")}`;
  return componentName.slice(0, HANDLER_RESOURCE_NAME_LENGTH - suffix.length) + suffix;
}

/** For a resource named by `handlerResourceName`: the name it was created with stays. */
const KEEP_NAME = { ignoreChanges: ["name"] };

// Every AWS name derived from the component's takes letters, digits, "-" and "_" (Lambda
// functions and permission statement ids take nothing else). 64 keeps the auto-named ones
// within their limits: the longest, a permission's statement id
// `<component>-disconnect-invoke-1a2b3c4`, needs 26 of Lambda's 100 besides the component name.
const COMPONENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** `name`, refused unless every AWS name the component derives from it would be valid. */
function componentNameOf(name: string): string {
  if (!COMPONENT_NAME.test(name)) {
    throw new Error(
      `WebSocketChat name "${name}" must be 1 to 64 letters, digits, "-" or "_": it starts the names of the AWS resources the chat creates`,
    );
  }
  return name;
}

/**
 * `args`, refused where an argument that needs a known value holds an output. Other languages'
 * SDKs pass such an argument as an output when the program gives it another resource's output
 * or a secret (Pulumi's host wraps it to carry the dependency); TypeScript's types already
 * refuse it.
 */
function plainWhereNeeded(args: WebSocketChatArgs): WebSocketChatArgs {
  const check = (value: unknown, path: string): void => {
    if (INPUT_ARGUMENTS.includes(path)) return;
    if (pulumi.Output.isInstance(value)) {
      throw new Error(
        `WebSocketChat argument ${path} must be a value known before deployment, not another resource's output or a secret`,
      );
    }
    if (value !== null && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) check(inner, path ? `${path}.${key}` : key);
    }
  };
  check(args, "");
  return args;
}
