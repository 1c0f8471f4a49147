/**
 * The route table: which handler module in handlers/ serves which route key.
 * Read by the Pulumi component (one Lambda per entry) and by the local gateway,
 * so both always route the same way.
 */

/** The handler modules, `handlers/<name>.ts`. */
export const HANDLER_NAMES = [
  "connect",
  "disconnect",
  "message",
  "history",
  "who",
  "default",
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/** The `$connect` authorizer's module, `handlers/authorize.ts`: a function, but not a route. */
export const AUTHORIZER_HANDLER = "authorize";
/** Every module in handlers/ that is deployed as a Lambda function of its own. */
export type FunctionName = HandlerName | typeof AUTHORIZER_HANDLER;

export interface ChatRoute {
  /** The API Gateway route key, e.g. `$connect` or `sendmessage`. */
  routeKey: string;
  handler: HandlerName;
}

/** API Gateway's default: the route key is the `action` field of the JSON body. */
export const DEFAULT_ROUTE_SELECTION_EXPRESSION = "$request.body.action";
export const DEFAULT_MESSAGE_ROUTE = "sendmessage";
/** `{"action":"history"}`: the sender's room's latest messages, to the sender only. */
export const HISTORY_ROUTE = "history";
/** `{"action":"who"}`: who is in the sender's room, to the sender only. */
export const WHO_ROUTE = "who";
/** Route keys of the chat's own actions, which the message route cannot take. */
export const RESERVED_ROUTE_KEYS: readonly string[] = [HISTORY_ROUTE, WHO_ROUTE];

/** The chat's routes, with the broadcast served under `messageRoute`. */
export function chatRoutes(messageRoute: string = DEFAULT_MESSAGE_ROUTE): ChatRoute[] {
  return [
    { routeKey: "$connect", handler: "connect" },
    { routeKey: "$disconnect", handler: "disconnect" },
    { routeKey: messageRoute, handler: "message" },
    { routeKey: HISTORY_ROUTE, handler: "history" },
    { routeKey: WHO_ROUTE, handler: "who" },
    { routeKey: "$default", handler: "default" },
  ];
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
