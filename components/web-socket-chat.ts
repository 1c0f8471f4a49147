import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { isRateLimited } from "../handlers/lib/rate-limit";
import {
  CONNECTIONS_TABLE,
  HISTORY_TABLE,
  keyAttributes,
  TableSchema,
} from "../handlers/lib/tables";
import {
  AUTHORIZED_ROUTE_KEY,
  AUTHORIZER,
  chatRoutes,
  GrantConditions,
  HANDLER_NAMES,
  ROUTES,
} from "../handlers/routes";
import {
  INPUT_ARGUMENTS,
  type PerHandler,
  type WebSocketChatArgs,
  type WebSocketChatAuthorizer,
  type WebSocketChatHandlers,
} from "./args";
import { ChatAuthorizer } from "./chat-authorizer";
import type { ChatFunctionArgs } from "./chat-function";
import { ChatRoute } from "./chat-route";
import { handlerEnvironment } from "./environment";
import { GrantTargets, statementsFor } from "./permissions";
import {
  AUTHORIZER_MEMORY_MB,
  AUTHORIZER_TIMEOUT_SECONDS,
  isOpen,
  resolveSettings,
} from "./settings";

export * from "./args";

// Each chat's authorizer, kept outside the instance: Pulumi's schema inference takes every
// field of the class, private ones too, for an output, and outputs are always set.
const authorizers = new WeakMap<WebSocketChat, WebSocketChatAuthorizer>();

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
  /**
   * The `$connect` authorizer, its function and the resources around it, when access is limited
   * (`access` sets a token or an issuer); undefined when anyone may connect. An accessor, not an
   * output: the package's outputs are always set, and other languages' SDKs do not see it.
   */
  get authorizer(): WebSocketChatAuthorizer | undefined {
    return authorizers.get(this);
  }

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
    // and back never replaces it. With retention 0 it holds each room's counter for `seq` only.
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
    const authorizer = isOpen(access) ? undefined : createAuthorizer();
    const handlers = createRoutes();
    const stage = createStage();

    this.api = api;
    this.stage = stage;
    this.connectionsTable = table;
    this.table = table;
    this.historyTable = historyTable;
    this.handlers = handlers;
    if (authorizer) authorizers.set(this, authorizer);
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

    /** What each of the chat's functions takes from the settings alike. */
    function functionArgs(): Omit<
      ChatFunctionArgs,
      "handler" | "statements" | "environment" | "memorySize" | "timeout"
    > {
      return {
        componentName: name,
        parent,
        runtime: lambda.runtime,
        architecture: lambda.architecture,
        logRetentionDays,
        tags,
      };
    }

    /** Guards `$connect` when access is limited (handlers/authorize.ts). */
    function createAuthorizer(): ChatAuthorizer {
      return new ChatAuthorizer({
        api,
        access,
        function: {
          ...functionArgs(),
          statements: statementsFor(AUTHORIZER.grants(grantConditions), grantTargets),
          memorySize: AUTHORIZER_MEMORY_MB,
          timeout: AUTHORIZER_TIMEOUT_SECONDS,
        },
      });
    }

    /** One route per entry of the route table (handlers/routes.ts), named by its handler. */
    function createRoutes(): PerHandler<ChatRoute> {
      // Every route's function gets the same settings: each reads only what it uses.
      const environment = handlerEnvironment<pulumi.Input<string>>(settings, {
        connectionsTableName: table.name,
        historyTableName: historyTable.name,
        managementEndpoint,
      });
      const routes = chatRoutes(messageRoute).map(
        ({ routeKey, handler }) =>
          new ChatRoute({
            api,
            stageName,
            routeKey,
            handler,
            authorizer: routeKey === AUTHORIZED_ROUTE_KEY ? authorizer : undefined,
            function: {
              ...functionArgs(),
              statements: statementsFor(ROUTES[handler].grants(grantConditions), grantTargets),
              memorySize: lambda.memorySize[handler],
              timeout: lambda.timeout[handler],
              environment,
            },
          }),
      );
      return Object.fromEntries(
        routes.map((route, i) => [HANDLER_NAMES[i], route]),
      ) as PerHandler<ChatRoute>;
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
