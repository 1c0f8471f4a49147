/**
 * The route table: one entry per handler module in handlers/, with everything a route is besides
 * its code: its route key, its function's memory and timeout, and what it may touch in DynamoDB
 * and @connections. The component deploys one Lambda per entry with these defaults and grants,
 * local mode runs the same functions on the same route keys, and the settings' reserved route
 * keys, the `$default` reply's list of actions and the page's route keys all come from here.
 *
 * Bundled into the handlers: nothing here may import Pulumi or the SDK.
 */

/**
 * What a function may do, by intent. components/permissions.ts turns each into the narrowest
 * IAM statement for it; a grant whose resource the chat lacks (`tableKey` without a KMS key)
 * grants nothing.
 */
export type Grant =
  /** Record one connection (`$connect`). */
  | "putConnection"
  /** Delete a connection's record (`$disconnect`; the broadcast, for a recipient gone). */
  | "deleteConnection"
  /** Read the sender's own record, by key. */
  | "getConnection"
  /** Read one room's connections, through the room index only. */
  | "queryRoom"
  /** The message rate limit: conditionally update the sender's own record. */
  | "updateRateLimit"
  /** Keep each message in its room's history under its `seq`, and claim a sender's `clientId`. */
  | "keepMessage"
  /** Read a room's history: its messages, its latest `seq`, a `clientId`'s record. */
  | "readHistory"
  /** Move a room's sequence on (its head, or counter) and settle a `clientId`'s record. */
  | "sequenceMessages"
  /** Use the tables' customer-managed KMS key, when the chat has one. */
  | "tableKey"
  /** Post to this API stage's connections. */
  | "postToConnections";

/** The resolved settings a route's grants depend on. */
export interface GrantConditions {
  /** History is kept (a retention above 0). */
  keepsHistory: boolean;
  /** Joins and departures are announced to the room. */
  presenceNotices: boolean;
  /** Broadcasts are rate-limited per connection. */
  rateLimited: boolean;
}

/** A Lambda function the component deploys: its defaults, and its whole permission set. */
export interface FunctionSpec {
  /** Memory in MB, unless `lambda.memorySize` says otherwise. */
  memoryMb: number;
  /** Timeout in seconds, unless `lambda.timeout` says otherwise. */
  timeoutSeconds: number;
  /** What the function may do, besides writing its own logs, in the order of its policy. */
  grants(conditions: GrantConditions): readonly Grant[];
}

/** A route: its function, and the route key API Gateway runs it on. */
export interface RouteSpec extends FunctionSpec {
  /**
   * API Gateway's `$connect`, `$disconnect` or `$default`, an action of the chat's own (a route
   * key clients send, which `messageRoute` cannot take), or a key a setting chooses.
   */
  routeKey: string | ((settings: RouteKeySettings) => string);
  /** What the route does, in a phrase: "replays the room's latest messages". */
  does: string;
}

/** The settings a route key may come from. */
export interface RouteKeySettings {
  messageRoute: string;
}

/** API Gateway's default: the route key is the `action` field of the JSON body. */
export const DEFAULT_ROUTE_SELECTION_EXPRESSION = "$request.body.action";
export const DEFAULT_MESSAGE_ROUTE = "sendmessage";

// Announcing a join or departure reads the room and posts to its chat.v1 members.
const tellRoom = ({ presenceNotices }: GrantConditions): Grant[] =>
  presenceNotices ? ["queryRoom", "postToConnections"] : [];

/**
 * The chat's routes, by handler module (`handlers/<name>.ts`), in the order they are deployed.
 * Each function but the broadcast does a DynamoDB call or two and a post or a few: 256 MB and
 * 10 s are plenty.
 */
export const ROUTES = {
  connect: {
    routeKey: "$connect",
    does: "records the connection",
    memoryMb: 256,
    timeoutSeconds: 10,
    grants: (conditions) => ["putConnection", "tableKey", ...tellRoom(conditions)],
  },
  disconnect: {
    routeKey: "$disconnect",
    does: "deletes the connection's record",
    memoryMb: 256,
    timeoutSeconds: 10,
    grants: (conditions) => ["deleteConnection", "tableKey", ...tellRoom(conditions)],
  },
  message: {
    routeKey: ({ messageRoute }) => messageRoute,
    does: "broadcasts a message to everyone in the sender's room",
    // The broadcast is CPU-bound and single-threaded: 1769 MB is one full vCPU, the most it can
    // use. CPU per delivery is then the same cost at any size, and reach within 29 s is highest
    // (docs/scaling.md, from `npm run bench`).
    memoryMb: 1769,
    // API Gateway's integration timeout is 29 s: the broadcast may use all of it.
    timeoutSeconds: 29,
    grants: ({ keepsHistory, rateLimited }) => [
      "getConnection",
      "queryRoom",
      "deleteConnection",
      // With no history kept, a counter per room for `seq`; with it, the messages themselves.
      ...(keepsHistory ? (["keepMessage", "readHistory"] as const) : []),
      "sequenceMessages",
      "tableKey",
      "postToConnections",
      ...(rateLimited ? (["updateRateLimit"] as const) : []),
    ],
  },
  history: {
    routeKey: "history",
    does: "replays the sender's room's latest messages to the sender",
    memoryMb: 256,
    timeoutSeconds: 10,
    grants: () => [
      "getConnection",
      // With no history kept, still the room's latest `seq`.
      "readHistory",
      "tableKey",
      "postToConnections",
    ],
  },
  who: {
    routeKey: "who",
    does: "tells the sender who is in its room",
    memoryMb: 256,
    timeoutSeconds: 10,
    grants: () => ["getConnection", "queryRoom", "tableKey", "postToConnections"],
  },
  default: {
    routeKey: "$default",
    does: "answers a message no other route takes",
    memoryMb: 256,
    timeoutSeconds: 10,
    grants: () => ["getConnection", "tableKey", "postToConnections"],
  },
} satisfies Record<string, RouteSpec>;

/** The handler modules, `handlers/<name>.ts`, one per route. */
export type HandlerName = keyof typeof ROUTES;
export const HANDLER_NAMES = Object.keys(ROUTES) as readonly HandlerName[];

/** The `$connect` authorizer's module, `handlers/authorize.ts`: a function, but not a route. */
export const AUTHORIZER_HANDLER = "authorize";
/** The authorizer checks one token, a hash or a signature against cached keys; it touches nothing. */
export const AUTHORIZER: FunctionSpec = { memoryMb: 256, timeoutSeconds: 10, grants: () => [] };
/** Every module in handlers/ that is deployed as a Lambda function of its own. */
export type FunctionName = HandlerName | typeof AUTHORIZER_HANDLER;

/** The one route key an authorizer can guard: API Gateway checks a client once, as it connects. */
export const AUTHORIZED_ROUTE_KEY = "$connect";

export interface ChatRoute {
  /** The API Gateway route key, e.g. `$connect` or `sendmessage`. */
  routeKey: string;
  handler: HandlerName;
}

/** The route key `handler` serves under `settings`. */
export function routeKeyOf(
  handler: HandlerName,
  settings: RouteKeySettings = { messageRoute: DEFAULT_MESSAGE_ROUTE },
): string {
  const { routeKey } = ROUTES[handler] as RouteSpec;
  return typeof routeKey === "string" ? routeKey : routeKey(settings);
}

/** The chat's routes, with the broadcast served under `messageRoute`. */
export function chatRoutes(messageRoute: string = DEFAULT_MESSAGE_ROUTE): ChatRoute[] {
  return HANDLER_NAMES.map((handler) => ({
    routeKey: routeKeyOf(handler, { messageRoute }),
    handler,
  }));
}

/** Whether `routeKey` is one of API Gateway's own (`$connect`, `$disconnect`, `$default`). */
function isGatewayRouteKey(routeKey: string): boolean {
  return routeKey.startsWith("$");
}

/** The chat's own actions by handler (`{ history: "history", who: "who" }`): fixed route keys. */
export const FIXED_ACTIONS: Readonly<Partial<Record<HandlerName, string>>> = Object.fromEntries(
  HANDLER_NAMES.flatMap((handler) => {
    const { routeKey } = ROUTES[handler] as RouteSpec;
    return typeof routeKey === "string" && !isGatewayRouteKey(routeKey)
      ? [[handler, routeKey]]
      : [];
  }),
);

/** Route keys of the chat's own actions, which the message route cannot take. */
export const RESERVED_ROUTE_KEYS: readonly string[] = Object.values(FIXED_ACTIONS);

/**
 * The actions a client can send, by handler, with the message route under `messageRoute`:
 * `{ message: "sendmessage", history: "history", who: "who" }`, in the table's order.
 */
export function actionsFor(messageRoute: string): Partial<Record<HandlerName, string>> {
  return Object.fromEntries(
    chatRoutes(messageRoute)
      .filter(({ routeKey }) => !isGatewayRouteKey(routeKey))
      .map(({ handler, routeKey }) => [handler, routeKey]),
  );
}

const BODY_PATH_EXPRESSION = /^(?:\$request\.body\.(.+)|\$\{request\.body\.(.+)\})$/;

/**
 * The JSON body path a route selection expression reads: `["action"]` for
 * `$request.body.action` (or `${request.body.action}`), `["meta", "kind"]` for
 * `$request.body.meta.kind`. Undefined for anything else, which WebSocket APIs do not route on.
 */
export function routeKeyPath(expression: string): string[] | undefined {
  const match = BODY_PATH_EXPRESSION.exec(expression.trim());
  const path = match ? (match[1] ?? match[2]).split(".") : undefined;
  return path && path.every((key) => key !== "") ? path : undefined;
}
