import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { DEFAULT_CONNECTION_TTL_SECONDS, handlerEnvironment } from "../handlers/lib/config";
import { CONNECTION_KEY, EXPIRY_ATTRIBUTE } from "../handlers/lib/connection-store";
import {
  ChatRoute,
  chatRoutes,
  DEFAULT_MESSAGE_ROUTE,
  DEFAULT_ROUTE_SELECTION_EXPRESSION,
  HandlerName,
} from "../handlers/routes";
import { BUNDLE_FILE_NAME, BUNDLE_HANDLER, bundleHandler } from "../handlers/bundle";
import {
  allowDeleteConnection,
  allowPostToConnections,
  allowPutConnection,
  allowScanConnections,
  allowWriteLogs,
  LAMBDA_ASSUME_ROLE_POLICY,
  policyDocument,
  PolicyStatement,
} from "./permissions";

export type LambdaArchitecture = "arm64" | "x86_64";

/** A value per handler (`connect`, `disconnect`, `message`, `default`). */
export type PerHandler<T> = Record<HandlerName, T>;

export interface WebSocketChatThrottle {
  /**
   * The stage's token-bucket size: requests (connects and messages) accepted in one burst.
   * @default `100`
   */
  burstLimit?: number;
  /**
   * Requests per second the stage accepts on average.
   * @default `50`
   */
  rateLimit?: number;
}

export interface WebSocketChatLambdaArgs {
  /**
   * The Lambda runtime of every handler. The bundles are ES modules exporting async handlers,
   * which every Node.js runtime from `nodejs18.x` on loads; `nodejs24.x` needs
   * `@pulumi/aws` 7.17.0 or later.
   * @default `"nodejs24.x"`
   */
  runtime?: string;
  /**
   * The instruction set of every handler. The bundles are plain JavaScript, so either works;
   * `arm64` costs less per GB-second.
   * @default `"arm64"`
   */
  architecture?: LambdaArchitecture;
  /**
   * Memory in MB, per handler. Lambda allots CPU in proportion to memory, and the broadcast
   * is CPU-bound, so the message route gets more.
   * @default `{ connect: 256, disconnect: 256, message: 1769, default: 256 }`
   * @example
   * ```ts
   * { lambda: { memorySize: { message: 1769 } } } // one full vCPU for the broadcast
   * ```
   */
  memorySize?: Partial<PerHandler<number>>;
  /**
   * Timeout in seconds, per handler. API Gateway stops waiting for any integration after 29 s,
   * so the broadcast gets all of it; the others do one DynamoDB call or one post.
   * @default `{ connect: 10, disconnect: 10, message: 29, default: 10 }`
   */
  timeout?: Partial<PerHandler<number>>;
}

export interface WebSocketChatArgs {
  /**
   * The API Gateway stage: the last segment of the `wss://` URL.
   * @default the Pulumi stack name
   */
  stageName?: string;
  /**
   * Where API Gateway finds the route key in each message's JSON body.
   * @default `"$request.body.action"`
   * @example
   * ```ts
   * // clients send {"message":"pushmessage", "data":"hello"}
   * { routeSelectionExpression: "$request.body.message", messageRoute: "pushmessage" }
   * ```
   */
  routeSelectionExpression?: string;
  /**
   * The route key that broadcasts a message's `data` to every connected client.
   * @default `"sendmessage"`
   */
  messageRoute?: string;
  /**
   * How long a connection record lives, in seconds. API Gateway closes every connection after
   * 2 hours and `$disconnect` can be missed, so records expire on their own a little later.
   * @default `7500` (2 h 5 min)
   */
  connectionTtlSeconds?: number;
  /**
   * The stage's default throttling. Both limits are always set: in `defaultRouteSettings`, a
   * limit left unset is 0, and every request gets 429.
   * @default `{ burstLimit: 100, rateLimit: 50 }`
   */
  throttle?: WebSocketChatThrottle;
  /**
   * Runtime, architecture, memory and timeouts of the handler functions.
   * @default see each field
   * @example
   * ```ts
   * { lambda: { architecture: "x86_64", memorySize: { message: 1769 }, timeout: { connect: 5 } } }
   * ```
   */
  lambda?: WebSocketChatLambdaArgs;
  /**
   * Days to keep each function's logs. Must be a value CloudWatch Logs accepts
   * (1, 3, 5, 7, 14, 30, 60, 90, ...).
   * @default `14`
   */
  logRetentionDays?: number;
  /**
   * Tags for every child resource that takes tags (API, stage, table, functions, roles,
   * log groups).
   * @default `{}`
   * @example
   * ```ts
   * { tags: { project: "chat", owner: "team-a" } }
   * ```
   */
  tags?: Record<string, string>;
}

export const DEFAULT_THROTTLE: Required<WebSocketChatThrottle> = { burstLimit: 100, rateLimit: 50 };
export const DEFAULT_LAMBDA_RUNTIME: aws.lambda.Runtime = "nodejs24.x";
export const DEFAULT_LAMBDA_ARCHITECTURE: LambdaArchitecture = "arm64";
// The broadcast is CPU-bound and single-threaded: 1769 MB is one full vCPU, the most it can use.
// CPU per delivery is then the same cost at any size, and reach within 29 s is highest
// (about 40,000-90,000 recipients; docs/scaling.md, from `npm run bench`).
export const DEFAULT_MEMORY_MB: PerHandler<number> = {
  connect: 256,
  disconnect: 256,
  message: 1769,
  default: 256,
};
// API Gateway's integration timeout is 29 s: the broadcast may use all of it.
export const DEFAULT_TIMEOUT_SECONDS: PerHandler<number> = {
  connect: 10,
  disconnect: 10,
  message: 29,
  default: 10,
};
export const DEFAULT_LOG_RETENTION_DAYS = 14;

/** Everything one route is made of, for escape hatches. */
export interface WebSocketChatRouteHandler {
  route: aws.apigatewayv2.Route;
  integration: aws.apigatewayv2.Integration;
  permission: aws.lambda.Permission;
  function: aws.lambda.Function;
  role: aws.iam.Role;
  rolePolicy: aws.iam.RolePolicy;
  logGroup: aws.cloudwatch.LogGroup;
}

/**
 * A complete WebSocket chat: an API Gateway WebSocket API whose routes run the Lambda
 * handlers in handlers/, a DynamoDB table of live connections, and a stage with throttling.
 * Every client that sends `{"action":"sendmessage","data":"..."}` reaches every connected client.
 */
export class WebSocketChat extends pulumi.ComponentResource {
  /** The URL clients connect to: `wss://{apiId}.execute-api.{region}.amazonaws.com/{stage}`. */
  public readonly url: pulumi.Output<string>;
  /** The @connections management endpoint: `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`. */
  public readonly managementEndpoint: pulumi.Output<string>;
  /** The name of the connections table. */
  public readonly tableName: pulumi.Output<string>;

  /** The WebSocket API (escape hatch). */
  public readonly api: aws.apigatewayv2.Api;
  /** The auto-deployed stage (escape hatch). */
  public readonly stage: aws.apigatewayv2.Stage;
  /** The connections table (escape hatch). */
  public readonly table: aws.dynamodb.Table;
  /** Each route's function and the resources around it, by route key (`$connect`, `sendmessage`, ...). */
  public readonly handlers: Record<string, WebSocketChatRouteHandler>;

  constructor(name: string, args: WebSocketChatArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("chat:index:WebSocketChat", name, {}, opts);

    const {
      stageName,
      routeSelectionExpression,
      messageRoute,
      connectionTtlSeconds,
      throttle,
      lambda,
      logRetentionDays,
      tags,
    } = normalizeArgs(args);
    // The steps below are function declarations (SST's layout), which have no `this` of their own.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const parent = this;
    const region = aws.getRegionOutput({}, { parent }).region;
    const endpoint = (scheme: string, stage: pulumi.Input<string>) =>
      pulumi.interpolate`${scheme}://${api.id}.execute-api.${region}.amazonaws.com/${stage}`;

    const table = createTable();
    const api = createApi();
    const managementEndpoint = endpoint("https", stageName);
    // Each function's whole permission set, besides writing its own logs.
    const grants: PerHandler<PolicyStatement[]> = {
      connect: [allowPutConnection(table)],
      disconnect: [allowDeleteConnection(table)],
      message: [
        allowScanConnections(table),
        allowDeleteConnection(table),
        allowPostToConnections(api, stageName),
      ],
      default: [allowPostToConnections(api, stageName)],
    };
    const handlers: Record<string, WebSocketChatRouteHandler> = {};
    for (const route of chatRoutes(messageRoute))
      handlers[route.routeKey] = createRouteHandler(route);
    const stage = createStage();

    this.api = api;
    this.stage = stage;
    this.table = table;
    this.handlers = handlers;
    this.url = endpoint("wss", stage.name);
    this.managementEndpoint = endpoint("https", stage.name);
    this.tableName = table.name;
    this.registerOutputs({
      url: this.url,
      managementEndpoint: this.managementEndpoint,
      tableName: this.tableName,
    });

    function createTable(): aws.dynamodb.Table {
      // Auto-named: a fixed table name collides across stacks.
      return new aws.dynamodb.Table(
        `${name}-connections`,
        {
          attributes: [{ name: CONNECTION_KEY, type: "S" }],
          hashKey: CONNECTION_KEY,
          billingMode: "PAY_PER_REQUEST",
          serverSideEncryption: { enabled: true },
          // Records carry their expiry in epoch seconds; DynamoDB deletes them lazily.
          ttl: { enabled: true, attributeName: EXPIRY_ATTRIBUTE },
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

    /** One route: its function with its own role, log group and grants, and the wiring to the API. */
    function createRouteHandler({ routeKey, handler }: ChatRoute): WebSocketChatRouteHandler {
      const prefix = `${name}-${handler}`;
      const functionName = lambdaFunctionName(name, handler);
      const logGroup = new aws.cloudwatch.LogGroup(
        `${prefix}-logs`,
        { name: `/aws/lambda/${functionName}`, retentionInDays: logRetentionDays, tags },
        { parent },
      );
      const role = new aws.iam.Role(
        `${prefix}-role`,
        { assumeRolePolicy: LAMBDA_ASSUME_ROLE_POLICY, tags },
        { parent },
      );
      const rolePolicy = new aws.iam.RolePolicy(
        `${prefix}-policy`,
        { role: role.id, policy: policyDocument([...grants[handler], allowWriteLogs(logGroup)]) },
        { parent },
      );
      const fn = new aws.lambda.Function(
        prefix,
        {
          name: functionName,
          role: role.arn,
          runtime: lambda.runtime,
          architectures: [lambda.architecture],
          memorySize: lambda.memorySize[handler],
          timeout: lambda.timeout[handler],
          handler: BUNDLE_HANDLER,
          code: pulumi.output(bundleHandler(handler)).apply(
            (code) =>
              new pulumi.asset.AssetArchive({
                [BUNDLE_FILE_NAME]: new pulumi.asset.StringAsset(code),
              }),
          ),
          // Every function gets the same settings: the handlers read only what they use.
          environment: {
            variables: handlerEnvironment<pulumi.Input<string>>({
              tableName: table.name,
              managementEndpoint,
              connectionTtlSeconds,
              messageRoute,
              routeSelectionExpression,
            }),
          },
          loggingConfig: { logGroup: logGroup.name, logFormat: "JSON" },
          tags,
        },
        // IAM changes take a moment to propagate: create the function only once its
        // permissions exist, not merely its role.
        { parent, dependsOn: [rolePolicy] },
      );
      const permission = new aws.lambda.Permission(
        `${prefix}-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: fn.name,
          principal: "apigateway.amazonaws.com",
          sourceArn: pulumi.interpolate`${api.executionArn}/*/${routeKey}`,
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
          integrationUri: fn.invokeArn,
        },
        // The first request must not reach the function before API Gateway may invoke it.
        { parent, dependsOn: [permission] },
      );
      const route = new aws.apigatewayv2.Route(
        `${prefix}-route`,
        { apiId: api.id, routeKey, target: pulumi.interpolate`integrations/${integration.id}` },
        { parent },
      );
      return { route, integration, permission, function: fn, role, rolePolicy, logGroup };
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
 * A Lambda function name that is stable across updates and unique per project, stack,
 * component and handler. It is chosen here rather than by Pulumi so that the log group can be
 * named `/aws/lambda/<function name>` before the function exists.
 */
function lambdaFunctionName(componentName: string, handler: HandlerName): string {
  const hash = createHash("sha256")
    .update([pulumi.getProject(), pulumi.getStack(), componentName, handler].join("/"))
    .digest("hex")
    .slice(0, 8);
  // Lambda names: at most 64 of [A-Za-z0-9-_]; "-disconnect-" and the hash take 20.
  const base = componentName.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 44);
  return `${base}-${handler}-${hash}`;
}

type NormalizedArgs = Required<Omit<WebSocketChatArgs, "throttle" | "lambda">> & {
  throttle: Required<WebSocketChatThrottle>;
  lambda: {
    runtime: string;
    architecture: LambdaArchitecture;
    memorySize: PerHandler<number>;
    timeout: PerHandler<number>;
  };
};

/** Every argument with its default filled in, and the values AWS would refuse late refused now. */
function normalizeArgs(args: WebSocketChatArgs): NormalizedArgs {
  const messageRoute = args.messageRoute ?? DEFAULT_MESSAGE_ROUTE;
  if (messageRoute === "" || messageRoute.startsWith("$")) {
    throw new Error(
      `messageRoute must be a custom route key (not empty, not starting with "$"), got "${messageRoute}"`,
    );
  }
  return {
    stageName: stageNameOf(args.stageName ?? pulumi.getStack()),
    routeSelectionExpression: args.routeSelectionExpression ?? DEFAULT_ROUTE_SELECTION_EXPRESSION,
    messageRoute,
    connectionTtlSeconds: positiveInteger(
      "connectionTtlSeconds",
      args.connectionTtlSeconds ?? DEFAULT_CONNECTION_TTL_SECONDS,
    ),
    throttle: {
      burstLimit: positiveInteger(
        "throttle.burstLimit",
        args.throttle?.burstLimit ?? DEFAULT_THROTTLE.burstLimit,
      ),
      rateLimit: positiveNumber(
        "throttle.rateLimit",
        args.throttle?.rateLimit ?? DEFAULT_THROTTLE.rateLimit,
      ),
    },
    lambda: {
      runtime: args.lambda?.runtime ?? DEFAULT_LAMBDA_RUNTIME,
      architecture: args.lambda?.architecture ?? DEFAULT_LAMBDA_ARCHITECTURE,
      memorySize: perHandler(DEFAULT_MEMORY_MB, args.lambda?.memorySize),
      timeout: perHandler(DEFAULT_TIMEOUT_SECONDS, args.lambda?.timeout),
    },
    logRetentionDays: args.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
    tags: args.tags ?? {},
  };
}

/** `defaults`, with each handler's value replaced where `overrides` sets one. */
function perHandler<T>(
  defaults: PerHandler<T>,
  overrides: Partial<PerHandler<T>> = {},
): PerHandler<T> {
  const values = { ...defaults };
  for (const handler of Object.keys(values) as HandlerName[])
    values[handler] = overrides[handler] ?? defaults[handler];
  return values;
}

// API Gateway stage names: letters, digits, "-" and "_", at most 128. A stack name may hold a
// "." (e.g. "team.prod"), which only deploying would otherwise reveal.
function stageNameOf(stageName: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
    throw new Error(
      `stageName "${stageName}" is not a valid API Gateway stage name (letters, digits, - and _): set stageName`,
    );
  }
  return stageName;
}

function positiveNumber(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new Error(`${name} must be greater than 0, got ${value}`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0))
    throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}
