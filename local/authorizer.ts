import type { WebSocketAuthorizerEvent } from "../handlers/lib/access";
import type { WebSocketEvent } from "./gateway-events";

/**
 * A Lambda REQUEST authorizer on `$connect`, run as API Gateway runs one: the function gets the
 * REQUEST event, and its outcome decides the handshake.
 * - it throws `Error("Unauthorized")`: 401, and `$connect` never runs;
 * - it returns a policy that denies `execute-api:Invoke` on the `$connect` method ARN, or does
 *   not allow it: 403;
 * - it throws anything else, or returns something that is not a valid authorizer response: 500;
 * - it allows: `$connect` runs, and every event of the connection carries
 *   `requestContext.authorizer`: the context's keys, `principalId` and `integrationLatency`.
 * (AWS docs: "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers", "Output
 * from an API Gateway Lambda authorizer".)
 */

/** Runs the authorizer function: resolves with what it returned, rejects with what it threw. */
export type AuthorizerInvoker = (event: WebSocketAuthorizerEvent) => Promise<unknown>;

/** What every event of an authorized connection carries as `requestContext.authorizer`. */
export type AuthorizerContext = Record<string, string | number | boolean>;

export type AuthorizerDecision =
  { status: 200; authorizer: AuthorizerContext } | { status: 401 | 403 | 500; reason: string };

/** The account id in local ARNs: no account is involved. */
export const LOCAL_ACCOUNT_ID = "000000000000";

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`, the ARN policies name. */
export function connectMethodArn(region: string, account: string, apiId: string, stage: string) {
  return `arn:aws:execute-api:${region}:${account}:${apiId}/${stage}/$connect`;
}

/**
 * The REQUEST event for the `$connect` event `connect`: its headers, query string and request
 * context, with the method ARN the authorizer's policy must allow.
 */
export function authorizerEvent(
  connect: WebSocketEvent,
  methodArn: string,
): WebSocketAuthorizerEvent {
  return {
    type: "REQUEST",
    methodArn,
    headers: connect.headers ?? null,
    multiValueHeaders: connect.multiValueHeaders ?? null,
    queryStringParameters: connect.queryStringParameters ?? null,
    multiValueQueryStringParameters: connect.multiValueQueryStringParameters ?? null,
    stageVariables: null,
    requestContext: connect.requestContext,
  };
}

/** Runs the authorizer on `event` and says what API Gateway would do next. */
export async function authorize(
  invoke: AuthorizerInvoker,
  event: WebSocketAuthorizerEvent,
): Promise<AuthorizerDecision> {
  const started = Date.now();
  let result: unknown;
  try {
    result = await invoke(event);
  } catch (err) {
    return err instanceof Error && err.message === "Unauthorized"
      ? { status: 401, reason: "Unauthorized" }
      : { status: 500, reason: "the authorizer failed" };
  }
  return decide(result, event.methodArn, Date.now() - started);
}

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

function decide(result: unknown, methodArn: string, latencyMs: number): AuthorizerDecision {
  const malformed = (why: string) => ({
    status: 500 as const,
    reason: `malformed response: ${why}`,
  });
  if (!isRecord(result)) return malformed("not an object");
  const { principalId, policyDocument, context } = result;
  if (typeof principalId !== "string") return malformed("no principalId");
  if (!isRecord(policyDocument) || !Array.isArray(policyDocument.Statement))
    return malformed("no policyDocument.Statement");
  const statements = policyDocument.Statement as unknown[];
  if (!statements.every(isRecord)) return malformed("a statement is not an object");

  // IAM's rule: an explicit Deny wins; without an Allow, the default is deny.
  const applying = (statements as Statement[]).filter(
    (s) => matchesAny(s.Action, "execute-api:Invoke", true) && matchesAny(s.Resource, methodArn),
  );
  if (applying.some((s) => s.Effect === "Deny")) return { status: 403, reason: "denied" };
  if (!applying.some((s) => s.Effect === "Allow")) return { status: 403, reason: "not allowed" };

  // Context values can only be strings, numbers or booleans; an object or array is an error.
  const authorizer: AuthorizerContext = {};
  if (context !== undefined && context !== null) {
    if (!isRecord(context)) return malformed("context is not an object");
    for (const [key, value] of Object.entries(context)) {
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
        return malformed(`context.${key} is not a string, number or boolean`);
      authorizer[key] = value;
    }
  }
  authorizer.principalId = principalId;
  authorizer.integrationLatency = latencyMs;
  return { status: 200, authorizer };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether an IAM `Action` or `Resource` (one pattern or a list) matches `value`. */
function matchesAny(patterns: unknown, value: string, ignoreCase = false): boolean {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  return list.some(
    (pattern) => typeof pattern === "string" && glob(pattern, ignoreCase).test(value),
  );
}

/** IAM wildcards: `*` any run of characters (slashes included), `?` any one character. */
function glob(pattern: string, ignoreCase: boolean): RegExp {
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "");
}
