import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { HandlerName } from "../handlers/routes";

/**
 * The WebSocketChat component's arguments and outputs: the types other languages read (through
 * the schema `pulumi package add` infers from them), and what the component exposes.
 */

/**
 * The instruction set of a Lambda function. A const object rather than a union of strings, which
 * Pulumi's other languages cannot take: TypeScript callers still write `"x86_64"`, the others get
 * an enum.
 */
export const LambdaArchitecture = {
  /** 64-bit ARM (Graviton). */
  Arm64: "arm64",
  /** 64-bit x86. */
  X86_64: "x86_64",
} as const;
export type LambdaArchitecture = (typeof LambdaArchitecture)[keyof typeof LambdaArchitecture];

/**
 * A value per handler internally: `Record` keyed by handler name. Not for arguments or outputs,
 * which Pulumi's other languages read through interfaces (see `WebSocketChatPerHandler`).
 */
export type PerHandler<T> = Record<HandlerName, T>;

// Arguments and outputs use only the types `pulumi package add` turns into a typed SDK for Python,
// Go, .NET, Java and YAML: interfaces (not type aliases), string, number, boolean, arrays,
// string-keyed maps, enums as const objects, Inputs and resources. Each property's TSDoc text
// becomes its documentation in those SDKs, but Pulumi reads only the text before the first tag:
// so a default is stated in a sentence ("Defaults to ..."), not in an `@default` tag.
// test/component-schema.test.ts holds every argument and output to this.

/** A number per handler: a handler left out keeps its default. */
export interface WebSocketChatPerHandler {
  /** The `$connect` route's function. Defaults to the argument's default for `connect`. */
  connect?: number;
  /** The `$disconnect` route's function. Defaults to the argument's default for `disconnect`. */
  disconnect?: number;
  /** The message route's function (the broadcast). Defaults to the argument's default for `message`. */
  message?: number;
  /** The `history` route's function. Defaults to the argument's default for `history`. */
  history?: number;
  /** The `who` route's function. Defaults to the argument's default for `who`. */
  who?: number;
  /** The `$default` route's function. Defaults to the argument's default for `default`. */
  default?: number;
}

/** What the chat keeps of each room's messages, and how much `history` replays. */
export interface WebSocketChatHistory {
  /**
   * Seconds a message is kept in its room's history (a table with a TTL, one write per message),
   * and with it what lets a client resume after a reconnect (`since`) and send idempotently
   * (`clientId`). 0 keeps no message: only each room's counter for `seq` is written to the
   * history table, and `history` answers with an empty history. Defaults to `86400` (24 hours).
   */
  retentionSeconds?: number;
  /**
   * The most messages a `history` request replays: the room's latest, oldest first, split into
   * frames of at most 128 KB. From 1 to 500. Defaults to `50`.
   */
  limit?: number;
}

/** Who is in a room: join and leave notices, and what `who` lists. */
export interface WebSocketChatPresence {
  /**
   * Whether the room's `chat.v1` clients get `joined` and `left` notices. Each connect and
   * disconnect then reads the room and posts to each structured member: its cost grows with
   * the room (docs/scaling.md). Defaults to `true`.
   */
  notices?: boolean;
  /** The most (distinct) names a `who` reply lists, from 1 to 500. Defaults to `100`. */
  nameLimit?: number;
}

/** The stage's throttling, applied to every route. */
export interface WebSocketChatThrottle {
  /**
   * The stage's token-bucket size: requests (connects and messages) accepted in one burst.
   * Defaults to `100`.
   */
  burstLimit?: number;
  /** Requests per second the stage accepts on average. Defaults to `50`. */
  rateLimit?: number;
}

/** Runtime, architecture, memory and timeouts of the handler functions. */
export interface WebSocketChatLambdaArgs {
  /**
   * The Lambda runtime of every handler. The bundles are ES modules exporting async handlers
   * built for Node 22, so any Node.js runtime from `nodejs22.x` on runs them; `nodejs24.x` needs
   * `@pulumi/aws` 7.17.0 or later. Defaults to `"nodejs24.x"`.
   */
  runtime?: string;
  /**
   * The instruction set of every handler. The bundles are plain JavaScript, so either works;
   * `arm64` costs less per GB-second. Defaults to `"arm64"`.
   */
  architecture?: LambdaArchitecture;
  /**
   * Memory in MB, per handler. Lambda allots CPU in proportion to memory, and the broadcast
   * is CPU-bound, so the message route gets more. Defaults to 1769 MB (one full vCPU) for
   * `message` and 256 MB for the others.
   * @example
   * ```ts
   * { lambda: { memorySize: { message: 3008 } } } // more memory for the broadcast only
   * ```
   */
  memorySize?: WebSocketChatPerHandler;
  /**
   * Timeout in seconds, per handler. API Gateway stops waiting for any integration after 29 s,
   * so the broadcast gets all of it; the others do one DynamoDB call or one post. Defaults to
   * 29 s for `message` and 10 s for the others.
   */
  timeout?: WebSocketChatPerHandler;
}

/**
 * The arguments that take Inputs: a value, or another resource's output or a secret. Each is
 * declared `pulumi.Input<...>` in `WebSocketChatArgs` (test/component-schema.test.ts keeps the two
 * alike); the others shape the resources and are checked before anything is created, so they
 * must be known values.
 */
export const INPUT_ARGUMENTS: readonly string[] = [
  "kmsKeyArn",
  "access.accessToken",
  "access.jwt.issuer",
  "access.jwt.audience",
  "access.jwt.jwksUri",
];

/** A per-connection token bucket: a burst, then a sustained rate. */
export interface WebSocketChatMessageRateLimit {
  /**
   * Messages one connection may broadcast at once, from a full allowance. 0 turns the limit off.
   * Defaults to `10`.
   */
  burst?: number;
  /**
   * Messages per second one connection may broadcast on average (the allowance refills at this
   * rate). 0 turns the limit off. Defaults to `1`.
   */
  perSecond?: number;
}

/** JWTs from an OpenID Connect issuer. */
export interface WebSocketChatJwtAccess {
  /**
   * The OIDC issuer, exactly as tokens carry it in `iss`, such as
   * `https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbCdEf123`. Its keys come
   * from `{issuer}/.well-known/openid-configuration` unless `jwksUri` is set. https only.
   */
  issuer: pulumi.Input<string>;
  /**
   * The audience tokens must be issued for (`aud`): your application's client id. For Cognito,
   * ID tokens carry it; access tokens do not.
   */
  audience: pulumi.Input<string>;
  /**
   * Where the issuer publishes its keys, to skip the discovery document. Defaults to the
   * `jwks_uri` of the issuer's discovery document.
   */
  jwksUri?: pulumi.Input<string>;
  /**
   * The claim that holds the display name the routes see as `requestContext.authorizer.name`.
   * A token without it gets its subject. Defaults to `"name"`.
   */
  nameClaim?: string;
}

/**
 * Who may connect. Set `accessToken`, `jwt` or both (a client then presents either); set
 * neither, and anyone may. Otherwise a Lambda REQUEST authorizer guards `$connect`: a client
 * presents its token as
 * `Authorization: Bearer <token>` or, from a browser (which cannot set headers on a WebSocket),
 * as `?token=<token>`. Refused clients get HTTP 401 and never reach `$connect`.
 */
export interface WebSocketChatAccess {
  /**
   * A shared secret every client presents. Pass it as a secret
   * (`config.requireSecret("accessToken")`): the authorizer is given only its SHA-256, and
   * compares in constant time. At least 16 printable characters without spaces. Defaults to
   * none.
   */
  accessToken?: pulumi.Input<string>;
  /**
   * JWTs from an OIDC issuer such as Cognito or Auth0, verified against the issuer's keys.
   * Defaults to none.
   */
  jwt?: WebSocketChatJwtAccess;
}

export interface WebSocketChatArgs {
  /**
   * The API Gateway stage: the last segment of the `wss://` URL. Defaults to the Pulumi stack
   * name.
   */
  stageName?: string;
  /**
   * Where API Gateway finds the route key in each message's JSON body. Defaults to
   * `"$request.body.action"`.
   * @example
   * ```ts
   * // clients send {"message":"pushmessage", "data":"hello"}
   * { routeSelectionExpression: "$request.body.message", messageRoute: "pushmessage" }
   * ```
   */
  routeSelectionExpression?: string;
  /**
   * The route key that broadcasts a message's `data` to every connected client. Defaults to
   * `"sendmessage"`.
   */
  messageRoute?: string;
  /**
   * How long a connection record lives, in seconds. API Gateway closes every connection after
   * 2 hours and `$disconnect` can be missed, so records expire on their own a little later.
   * Defaults to `7500` (2 h 5 min).
   */
  connectionTtlSeconds?: number;
  /**
   * How long each room's messages are kept, and how many `history` replays. Defaults to a day
   * of history and 50 messages per reply.
   * @example
   * ```ts
   * { history: { retentionSeconds: 0 } } // keep no history
   * ```
   */
  history?: WebSocketChatHistory;
  /**
   * Join and leave notices, and how many names `who` lists. Defaults to notices on and 100
   * names.
   * @example
   * ```ts
   * { presence: { notices: false } } // rooms of thousands: no O(room) work per connect
   * ```
   */
  presence?: WebSocketChatPresence;
  /**
   * The stage's default throttling. Both limits are always set: in `defaultRouteSettings`, a
   * limit left unset is 0, and every request gets 429. Defaults to a burst of 100 requests and
   * 50 requests per second.
   */
  throttle?: WebSocketChatThrottle;
  /**
   * Runtime, architecture, memory and timeouts of the handler functions. Defaults: see each
   * field.
   * @example
   * ```ts
   * { lambda: { architecture: "x86_64", memorySize: { message: 3008 }, timeout: { connect: 5 } } }
   * ```
   */
  lambda?: WebSocketChatLambdaArgs;
  /**
   * Days to keep each function's logs. Must be a value CloudWatch Logs accepts
   * (1, 3, 5, 7, 14, 30, 60, 90, ...). Defaults to `14`.
   */
  logRetentionDays?: number;
  /**
   * A customer-managed KMS key to encrypt the chat's tables with, as a key ARN (not an alias).
   * The functions that read or write a table are then allowed to use this key, and only it.
   * Without one, DynamoDB encrypts every table with its AWS-owned key, at no cost; a key of your
   * own adds KMS request charges and CloudTrail entries, and outlives `pulumi destroy`.
   * Defaults to none: DynamoDB's AWS-owned key.
   * @example
   * ```ts
   * { kmsKeyArn: key.arn } // key: aws.kms.Key
   * ```
   */
  kmsKeyArn?: pulumi.Input<string>;
  /**
   * The per-connection limit on broadcasts, kept with each connection's record so that it holds
   * across Lambda containers. A message over the limit is not broadcast; its sender gets a
   * `RateLimited` error that says when to send again. Costs a conditional DynamoDB write per
   * broadcast message (docs/scaling.md). Defaults to a burst of 10 messages, then 1 a second.
   * @example
   * ```ts
   * { messageRateLimit: { burst: 0 } } // no limit
   * ```
   */
  messageRateLimit?: WebSocketChatMessageRateLimit;
  /**
   * Who may connect: anyone, holders of a shared access token, or holders of a JWT from an
   * OIDC issuer. Defaults to anyone (no authorizer).
   * @example
   * ```ts
   * { access: { accessToken: config.requireSecret("accessToken") } }
   * { access: { jwt: { issuer: "https://example.auth0.com/", audience: "my-client-id" } } }
   * ```
   */
  access?: WebSocketChatAccess;
  /**
   * Tags for every child resource that takes tags (API, stage, table, functions, roles,
   * log groups). Defaults to no tags.
   * @example
   * ```ts
   * { tags: { project: "chat", owner: "team-a" } }
   * ```
   */
  tags?: Record<string, string>;
}

/** Everything one route is made of, for escape hatches. */
export interface WebSocketChatRouteHandler {
  /** The API Gateway route. */
  route: aws.apigatewayv2.Route;
  /** The route's Lambda proxy integration. */
  integration: aws.apigatewayv2.Integration;
  /** Lets API Gateway invoke the function for this route only. */
  permission: aws.lambda.Permission;
  /** The handler function. */
  function: aws.lambda.Function;
  /** The function's own role. */
  role: aws.iam.Role;
  /** The role's whole permission set: the route's grants and writing its own logs. */
  rolePolicy: aws.iam.RolePolicy;
  /** The function's log group. */
  logGroup: aws.cloudwatch.LogGroup;
}

/** Each route's function and the resources around it. */
export interface WebSocketChatHandlers {
  /** The `$connect` route: records the connection. */
  connect: WebSocketChatRouteHandler;
  /** The `$disconnect` route: deletes the connection's record. */
  disconnect: WebSocketChatRouteHandler;
  /** The message route: broadcasts a message to everyone in the sender's room. */
  message: WebSocketChatRouteHandler;
  /** The `history` route: replays the sender's room's latest messages to the sender. */
  history: WebSocketChatRouteHandler;
  /** The `who` route: tells the sender who is in its room. */
  who: WebSocketChatRouteHandler;
  /** The `$default` route: answers a message no other route takes. */
  default: WebSocketChatRouteHandler;
}

/** Compiles only when `A` and `B` have the same keys. */
type SameKeys<A extends Record<keyof B, unknown>, B extends Record<keyof A, unknown>> = [A, B];
// The interfaces other languages read, held to the route table (handlers/routes.ts): a route
// added there without its lines here, or the reverse, does not compile.
export type HandlerInterfacesMatchRouteTable = [
  SameKeys<Required<WebSocketChatPerHandler>, PerHandler<number>>,
  SameKeys<WebSocketChatHandlers, PerHandler<WebSocketChatRouteHandler>>,
];

/** The `$connect` authorizer and what it is made of. */
export interface WebSocketChatAuthorizer {
  /** The API Gateway REQUEST authorizer, attached to `$connect`. */
  authorizer: aws.apigatewayv2.Authorizer;
  /** Lets API Gateway invoke the function as this API's authorizer only. */
  permission: aws.lambda.Permission;
  /** The authorizer function (handlers/authorize.ts). */
  function: aws.lambda.Function;
  /** The function's own role. */
  role: aws.iam.Role;
  /** The role's whole permission set: writing its own logs, nothing else. */
  rolePolicy: aws.iam.RolePolicy;
  /** The function's log group. */
  logGroup: aws.cloudwatch.LogGroup;
}

/** A Lambda function with its own role, inline policy and log group. */
export type ChatFunction = Pick<
  WebSocketChatRouteHandler,
  "function" | "role" | "rolePolicy" | "logGroup"
>;
