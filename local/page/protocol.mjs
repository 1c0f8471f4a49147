// The chat.v1 protocol as the page speaks it (issue 10's contract), and the page's settings.
// Pure: no DOM and no network, so every rule here can be checked on its own.

/** The subprotocol that makes the server send typed JSON frames. */
export const SUBPROTOCOL = "chat.v1";
export const DEFAULT_ROOM = "general";
export const DEFAULT_NAME = "anonymous";

const ROOM = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_NAME_CHARACTERS = 32;
// What the server refuses in a name: control and format characters, surrogates, private-use and
// unassigned code points, and the line and paragraph separators.
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;
// `$request.body.action` or `${request.body.action}`, as API Gateway accepts them.
const BODY_PATH_EXPRESSION = /^(?:\$request\.body\.(.+)|\$\{request\.body\.(.+)\})$/;

/** Why `room` would be refused by the server, or undefined when it is fine. */
export function roomProblem(room) {
  return ROOM.test(room)
    ? undefined
    : "A room is 1 to 64 letters, digits, dots, dashes or underscores.";
}

/** Why `name` (already trimmed) would be refused by the server, or undefined when it is fine. */
export function nameProblem(name) {
  const characters = [...name].length;
  if (characters === 0) return "Type a name.";
  if (characters > MAX_NAME_CHARACTERS)
    return `A name is at most ${MAX_NAME_CHARACTERS} characters (this one has ${characters}).`;
  if (UNPRINTABLE.test(name))
    return "A name can hold only printable characters (no control or invisible ones).";
  return undefined;
}

/**
 * The body path that carries the route key: `["action"]` from `action`, `$request.body.action`
 * or `${request.body.action}`; `["meta", "kind"]` from `meta.kind`. Undefined when unusable:
 * `data` carries the message itself, so it cannot also select the route.
 */
export function routeKeyPath(fieldOrExpression) {
  const text = String(fieldOrExpression).trim();
  const match = BODY_PATH_EXPRESSION.exec(text);
  const path = (match ? (match[1] ?? match[2]) : text).split(".");
  if (path.some((key) => key === "") || path[0] === "data") return undefined;
  return path;
}

/**
 * Everything the page needs to connect, from the server's config.json and the page's address
 * (`?url=`, `?room=`, `?name=`, `?actionField=`, `?routeKey=`); the address wins. `problems`
 * lists what cannot be used, by field.
 */
export function resolveSettings(config, search, remembered = {}) {
  const problems = {};
  const param = (key) => {
    const value = search.get(key);
    return value === null || value.trim() === "" ? undefined : value.trim();
  };

  const url = param("url") ?? config.url ?? "";
  const urlProblem = webSocketUrlProblem(url);
  if (urlProblem) problems.url = urlProblem;

  const room = param("room") ?? remembered.room ?? DEFAULT_ROOM;
  if (roomProblem(room)) problems.room = roomProblem(room);
  const name = param("name") ?? remembered.name ?? "";

  const field = param("actionField") ?? config.routeSelectionExpression ?? "action";
  const actionPath = routeKeyPath(field);
  if (!actionPath) problems.actionField = `"${field}" cannot carry the route key.`;
  const messageRoute = param("routeKey") ?? config.messageRoute ?? "sendmessage";

  return {
    url,
    room,
    name,
    actionPath: actionPath ?? ["action"],
    messageRoute,
    // The route keys of the chat's own actions (`history`, `who`), as the server's table has them.
    actions: actionsOf(config.actions),
    maxFrameBytes: positive(config.maxFrameBytes),
    idleTimeoutMs: positive(config.idleTimeoutSeconds) * 1000,
    problems,
  };
}

function actionsOf(actions) {
  for (const action of ["history", "who"]) {
    if (typeof actions?.[action] !== "string" || actions[action] === "") {
      throw new Error(`config.json lacks the route key of the ${action} action`);
    }
  }
  return actions;
}

function positive(value) {
  if (typeof value !== "number" || !(value > 0)) {
    throw new Error(`config.json lacks a positive number where one is needed (got ${value})`);
  }
  return value;
}

/** Why `url` cannot be connected to, or undefined when it is a ws:// or wss:// URL. */
export function webSocketUrlProblem(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return "The server address must be a full ws:// or wss:// URL.";
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:")
    return `The server address must start with ws:// or wss://, not ${parsed.protocol}//.`;
  return undefined;
}

/** The URL to open: the server's, with the room, the name and (if any) the token as query. */
export function connectUrl({ url, room, name, token }) {
  const target = new URL(url);
  target.searchParams.set("room", room);
  target.searchParams.set("name", name);
  if (token) target.searchParams.set("token", token);
  else target.searchParams.delete("token");
  return target.href;
}

/** The JSON text of an action frame: `{"action":"<routeKey>", ...extra}` under `actionPath`. */
export function actionFrame(actionPath, routeKey, extra = {}) {
  // Null-prototype objects: a path segment such as "__proto__" stays an ordinary key.
  const frame = Object.create(null);
  let node = frame;
  actionPath.slice(0, -1).forEach((key) => {
    node[key] = Object.create(null);
    node = node[key];
  });
  node[actionPath[actionPath.length - 1]] = routeKey;
  for (const [key, value] of Object.entries(extra)) frame[key] = value;
  return JSON.stringify(frame);
}

const encoder = new TextEncoder();

/** How many bytes `text` takes on the wire (UTF-8). */
export function utf8Bytes(text) {
  return encoder.encode(text).length;
}

/**
 * How long to wait before reconnect attempt `attempt` (0 for the first): doubling from half a
 * second up to 30 s, each wait between half and all of that, so that a restarted server is not
 * met by every client at the same instant.
 */
export function reconnectDelayMs(attempt, random = Math.random) {
  const ceiling = Math.min(30_000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Errors worth sending the same message again for, with its `clientId` (which makes the resend
 * safe): the server was busy, or its tables could not be reached.
 */
export const RETRYABLE_ERRORS = ["RateLimited", "SendPending", "BroadcastFailed"];

const CLIENT_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Characters of a `clientId`: 22 of 64 kinds, 132 random bits. */
export const CLIENT_ID_LENGTH = 22;

/**
 * A new `clientId`: unique per message, 22 of A-Z a-z 0-9 _ - (the server takes 8 to 64).
 * `getRandomValues` works on pages served over plain http too, where `randomUUID` does not.
 */
export function newClientId(random = (bytes) => globalThis.crypto.getRandomValues(bytes)) {
  const bytes = random(new Uint8Array(CLIENT_ID_LENGTH));
  return Array.from(bytes, (byte) => CLIENT_ID_ALPHABET[byte % 64]).join("");
}

/**
 * The `since` to resume from: the highest `seq` up to which the page has every message, given
 * the `seq`s it has (a Set) and where it started from.
 */
export function contiguousSeq(from, seqs) {
  let seq = from;
  while (seqs.has(seq + 1)) seq++;
  return seq;
}

/** `data` as the page shows it: a string as it is, any other JSON value as its JSON text. */
export function displayText(data) {
  return typeof data === "string" ? data : JSON.stringify(data);
}

/**
 * A frame from the server, checked: `{type: "message" | "history" | "ack" | "joined" | "left" |
 * "presence" | "error", ...}` with the fields the page reads, or `{type: "unknown"}`.
 * API Gateway's own error frames (`{"message": "Forbidden", "connectionId": ...}`) and the
 * handlers' JSON errors without a type count as errors too.
 */
export function parseFrame(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: "unknown" };
  }
  if (!isObject(value)) return { type: "unknown" };
  switch (value.type) {
    case "message":
      return messageFrame(value) ?? { type: "unknown" };
    case "history": {
      if (typeof value.room !== "string" || !Array.isArray(value.messages))
        return { type: "unknown" };
      const messages = value.messages.map(messageFrame).filter((m) => m !== undefined);
      return defined({
        type: "history",
        room: value.room,
        messages,
        since: seqOf(value.since),
        complete: typeof value.complete === "boolean" ? value.complete : undefined,
        latestSeq: seqOf(value.latestSeq),
      });
    }
    case "ack":
      return typeof value.clientId === "string" && typeof value.id === "string"
        ? defined({
            type: "ack",
            clientId: value.clientId,
            id: value.id,
            seq: seqOf(value.seq),
            duplicate: value.duplicate === true,
          })
        : { type: "unknown" };
    case "joined":
    case "left":
      return typeof value.room === "string" && typeof value.name === "string"
        ? { type: value.type, room: value.room, name: value.name, at: timeOf(value.at) }
        : { type: "unknown" };
    case "presence":
      return typeof value.room === "string" && Number.isInteger(value.count)
        ? {
            type: "presence",
            room: value.room,
            count: value.count,
            names: Array.isArray(value.names)
              ? value.names.filter((n) => typeof n === "string")
              : [],
          }
        : { type: "unknown" };
    case "error":
    case undefined:
      if (typeof value.message === "string" || typeof value.error === "string") {
        return defined({
          type: "error",
          error: stringOr(value.error, ""),
          message: errorText(value),
          clientId: typeof value.clientId === "string" ? value.clientId : undefined,
          retryAfterMs: Number.isFinite(value.retryAfterMs) ? value.retryAfterMs : undefined,
        });
      }
      return { type: "unknown" };
    default:
      return { type: "unknown" };
  }
}

function messageFrame(value) {
  if (
    !isObject(value) ||
    typeof value.room !== "string" ||
    typeof value.from !== "string" ||
    typeof value.id !== "string" ||
    value.data === undefined
  )
    return undefined;
  return defined({
    type: "message",
    room: value.room,
    from: value.from,
    data: value.data,
    id: value.id,
    sentAt: timeOf(value.sentAt),
    seq: seqOf(value.seq),
  });
}

/** `object` without the fields that are undefined. */
function defined(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

/** A message's place in its room (a whole number from 0 on), or undefined. */
function seqOf(value) {
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function errorText(value) {
  const message = stringOr(value.message, "");
  const error = stringOr(value.error, "");
  if (message && error && !message.includes(error)) return `${error}: ${message}`;
  return message || error;
}

/** Epoch milliseconds of an ISO time, or undefined when it is not one. */
function timeOf(value) {
  const ms = typeof value === "string" ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function stringOr(value, fallback) {
  return typeof value === "string" ? value : fallback;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
