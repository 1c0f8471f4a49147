import { chatRoutes, routeKeyPath } from "../routes";
import { MAX_MESSAGE_BYTES } from "./limits";
import type { RateLimit } from "./rate-limit";
import { readRouteKey } from "./route-key";

/** What a message's `clientId` (its sender's idempotency key) may be: 8 to 64 of A-Z a-z 0-9 _ -. */
export const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;

export type ParsedMessage =
  | {
      ok: true;
      /** The sender's `data` as sent, as JSON text: what `chat.v1` frames carry. */
      dataJson: string;
      /** What plain clients receive: a string as-is, any other JSON value as its JSON text. */
      payload: string;
      /** The sender's idempotency key (handlers/lib/sends.ts), if it gave one. */
      clientId?: string;
    }
  | { ok: false; reason: string; clientId?: string };

/** Reads a chat message body, whose `data` is what gets broadcast. */
export function parseMessage(body: string | undefined): ParsedMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? "");
  } catch {
    return { ok: false, reason: "The message is not JSON." };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: "The message must be a JSON object." };
  }
  // Own properties only: a body's keys are the client's, and "data" is no inherited member.
  const field = (name: string) =>
    Object.hasOwn(parsed, name) ? (parsed as Record<string, unknown>)[name] : undefined;
  const rawClientId = field("clientId");
  if (rawClientId !== undefined && !isClientId(rawClientId)) {
    return { ok: false, reason: clientIdProblem(rawClientId) };
  }
  // Echoed in every refusal from here on, so the sender knows which message it was.
  const echo = rawClientId === undefined ? {} : { clientId: rawClientId };
  const data = field("data");
  if (data === undefined || data === null) {
    return { ok: false, reason: 'The message has no "data" field.', ...echo };
  }
  const payload = typeof data === "string" ? data : jsonText(data);
  if (payload === undefined) {
    return { ok: false, reason: '"data" is nested too deeply.', ...echo };
  }
  if (Buffer.byteLength(payload) > MAX_MESSAGE_BYTES) {
    return { ok: false, reason: `"data" is over ${MAX_MESSAGE_BYTES} bytes.`, ...echo };
  }
  const dataJson = typeof data === "string" ? JSON.stringify(data) : payload;
  return { ok: true, payload, dataJson, ...echo };
}

/** The body's `clientId`, when it is a JSON object with a valid one: for echoing in a refusal. */
export function clientIdOf(body: string | undefined): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body ?? "");
    if (typeof parsed !== "object" || parsed === null || !Object.hasOwn(parsed, "clientId"))
      return undefined;
    const { clientId } = parsed as { clientId: unknown };
    return isClientId(clientId) ? clientId : undefined;
  } catch {
    return undefined;
  }
}

function isClientId(value: unknown): value is string {
  return typeof value === "string" && CLIENT_ID.test(value);
}

// Names what was sent, within reason: the value is the client's, and may be anything.
function clientIdProblem(value: unknown): string {
  const shown =
    typeof value === "string"
      ? `${JSON.stringify(value.slice(0, 80))}${value.length > 80 ? "…" : ""}`
      : `a ${value === null ? "null" : Array.isArray(value) ? "list" : typeof value}`;
  return (
    `"clientId" must be 8 to 64 letters, digits, "_" or "-" (unique per message), ` +
    `not ${shown}: the message was not sent.`
  );
}

// JSON.parse accepts nesting that JSON.stringify overflows the stack on.
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** A `history` request: with `since`, a resume after that `seq`. */
export type HistoryRequest = { ok: true; since?: number } | { ok: false; reason: string };

/**
 * Reads a `history` body: anything without a `since` is today's request for the latest
 * messages; `since` must be a whole number from 0 on (0: from the room's first message).
 */
export function parseHistoryRequest(body: string | undefined): HistoryRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? "");
  } catch {
    return { ok: true };
  }
  if (typeof parsed !== "object" || parsed === null || !Object.hasOwn(parsed, "since")) {
    return { ok: true };
  }
  const since = (parsed as { since: unknown }).since;
  if (typeof since === "number" && Number.isSafeInteger(since) && since >= 0) {
    return { ok: true, since };
  }
  const shown = typeof since === "string" ? JSON.stringify(since.slice(0, 40)) : String(since);
  return {
    ok: false,
    reason:
      `"since" must be the seq of the last message you have (a whole number from 0 on), ` +
      `not ${typeof since === "object" && since !== null ? "an object or list" : shown}.`,
  };
}

/**
 * Whether a resume from `since` misses nothing: its first message is the one right after
 * `since`, or, with none, nothing came after `since` at all. A room whose latest `seq` is below
 * `since` started its sequence over (its head expired): that is a discontinuity too.
 */
export function isComplete(since: number, page: { firstSeq?: number; latestSeq: number }): boolean {
  return page.firstSeq === undefined ? page.latestSeq === since : page.firstSeq === since + 1;
}

/** Why a sender whose record is gone gets nothing: it expired, or a broadcast found it closed. */
export const NOT_CONNECTED =
  "This connection is not in any room (its record expired or was removed): reconnect.";

/** The chat's routing: which body field selects the route, and the broadcast's route key. */
export interface MessageShape {
  routeSelectionExpression: string;
  messageRoute: string;
}

/**
 * A valid message for this chat's routing, e.g. `{"action":"sendmessage","data":"hello world"}`
 * for `$request.body.action`, or `{"message":"pushmessage","data":"hello world"}`.
 */
export function exampleMessage(shape: MessageShape): Record<string, unknown> {
  return { ...actionMessage(shape, shape.messageRoute), data: "hello world" };
}

/**
 * The message that selects `routeKey` under this chat's routing, e.g. `{"action":"history"}`
 * for `$request.body.action`, or `{"message":"history"}` for `$request.body.message`.
 */
export function actionMessage(shape: MessageShape, routeKey: string): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  const path = routeKeyPath(shape.routeSelectionExpression);
  if (path) {
    let node = message;
    path.slice(0, -1).forEach((key) => {
      const child: Record<string, unknown> = {};
      node[key] = child;
      node = child;
    });
    node[path[path.length - 1]] = routeKey;
  }
  return message;
}

/**
 * The actions a client may ask for, by route key: the chat's routes but API Gateway's own
 * (`$connect`, `$disconnect`, `$default`), which no message selects.
 */
export function clientActions(shape: MessageShape): string[] {
  return chatRoutes(shape.messageRoute)
    .map(({ routeKey }) => routeKey)
    .filter((routeKey) => !routeKey.startsWith("$"));
}

/**
 * What to send instead, for this chat's routing, e.g. `Send a message like
 * {"action":"sendmessage","data":"hello world"}, or ask for {"action":"history"} or
 * {"action":"who"}.`
 */
export function whatToSend(shape: MessageShape): string {
  const asks = clientActions(shape)
    .filter((routeKey) => routeKey !== shape.messageRoute)
    .map((routeKey) => JSON.stringify(actionMessage(shape, routeKey)));
  const send = `Send a message like ${JSON.stringify(exampleMessage(shape))}`;
  if (asks.length === 0) return `${send}.`;
  return `${send}, or ask for ${asks.slice(0, -1).join(", ")}${asks.length > 1 ? " or " : ""}${asks[asks.length - 1]}.`;
}

/**
 * Why a message selected no route (API Gateway gives it to `$default`), and what to send
 * instead: it is not JSON, not a JSON object, has no routing field (the one this chat's route
 * selection expression reads, e.g. "action"), or names an action the chat does not have.
 */
export function unroutableReason(body: string | undefined, shape: MessageShape): string {
  return `${unroutableProblem(body ?? "", shape)} ${whatToSend(shape)}`;
}

// An unknown action is said back to its sender, up to this many characters.
const ECHOED_ACTION_CHARS = 64;

function unroutableProblem(body: string, shape: MessageShape): string {
  const path = routeKeyPath(shape.routeSelectionExpression);
  if (!path) return "The message selects no action.";
  if (body.trim() === "") return "The message is empty.";
  const field = `"${path.join(".")}"`;
  const reading = readRouteKey(body, path);
  if (reading.found) {
    const action =
      reading.routeKey.length > ECHOED_ACTION_CHARS
        ? `${reading.routeKey.slice(0, ECHOED_ACTION_CHARS)}...`
        : reading.routeKey;
    return `Unknown action ${JSON.stringify(action)}.`;
  }
  switch (reading.problem) {
    case "not-json":
      return reading.position === undefined
        ? "The message is not JSON."
        : `The message is not JSON (at character ${reading.position + 1}${
            reading.unquotedKey ? ", a key without double quotes" : ""
          }).`;
    case "not-an-object":
      return `The message is JSON, but ${reading.was}, not an object.`;
    case "no-field":
      return `The message has no ${field} field, which names the action to take.`;
    case "empty-field":
      return `The message's ${field} field is empty: it names the action to take.`;
    case "unreadable-value":
      return `The message's ${field} field is nested too deeply to read.`;
  }
}

/**
 * The JSON error a client gets back for a message the chat cannot handle; a `chat.v1` client's
 * carries `"type":"error"` too, as every frame it receives has a type.
 */
export function errorReply(
  error: string,
  reason: string,
  shape: MessageShape,
  structured = false,
  clientId?: string,
): string {
  const reply = { error, message: reason, expected: exampleMessage(shape), clientId };
  return JSON.stringify(structured ? { type: "error", ...reply } : reply);
}

/**
 * The JSON error a client gets back for a message over its rate limit: what the limit is, and
 * when a message will be accepted again (`retryAfterMs`, also in words).
 */
export function rateLimitedReply(
  retryAfterMs: number,
  limit: RateLimit,
  structured = false,
  clientId?: string,
): string {
  const seconds = Math.max(0.1, Math.ceil(retryAfterMs / 100) / 10);
  const reply = {
    error: "RateLimited",
    message:
      `Too many messages (at most ${limit.burst} at once, then ${limit.perSecond} a second): ` +
      `this one was not sent. Send it again in ${seconds.toFixed(1)} s.`,
    retryAfterMs,
    clientId,
  };
  return JSON.stringify(structured ? { type: "error", ...reply } : reply);
}
