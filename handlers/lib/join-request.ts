import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { CHAT_PROTOCOL } from "./connection-store";

/**
 * What a connecting client asks for: `?room=<room>&name=<name>` on the URL, and the `chat.v1`
 * subprotocol in `Sec-WebSocket-Protocol`. Everything here comes from the client and is hostile
 * until it passes these checks.
 */

export const DEFAULT_ROOM = "general";
export const DEFAULT_NAME = "anonymous";
export const MAX_ROOM_LENGTH = 64;
export const MAX_NAME_LENGTH = 32;

const ROOM_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_ROOM_LENGTH}}$`);
// Not printable: control and format characters (bidi overrides, zero-width joiners), surrogates,
// private-use and unassigned code points, and the line and paragraph separators.
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/**
 * The `$connect` event as API Gateway sends it: the client's headers, the query string when
 * there is one, and the context of the authorizer when `$connect` has one (see the access
 * control of issue 9: `name` and `sub` are the keys it sets).
 */
export type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext: { authorizer?: Record<string, unknown> | null };
};

export interface JoinRequest {
  room: string;
  name: string;
  /** The client offered `chat.v1`: `$connect` selects it and the client gets JSON frames. */
  structured: boolean;
}

export type ParsedJoinRequest = { ok: true; join: JoinRequest } | { ok: false; reason: string };

/** Reads and checks what `event`'s client asked for. */
export function readJoinRequest(event: ConnectEvent): ParsedJoinRequest {
  const query = event.queryStringParameters ?? {};
  const room = parseRoom(ownValue(query, "room"));
  if (!room.ok) return room;
  const authorizerName = nameFromAuthorizer(event.requestContext.authorizer);
  // The identity provider's name wins: a query cannot impersonate a signed-in user.
  const name = authorizerName
    ? { ok: true as const, value: authorizerName }
    : parseName(ownValue(query, "name"));
  if (!name.ok) return name;
  return {
    ok: true,
    join: {
      room: room.value,
      name: name.value,
      structured: offeredProtocols(event.headers).includes(CHAT_PROTOCOL),
    },
  };
}

type Parsed = { ok: true; value: string } | { ok: false; reason: string };

/** A room is 1-64 of `A-Z a-z 0-9 _ . -`; absent or empty means the default room. */
export function parseRoom(raw: string | undefined): Parsed {
  if (raw === undefined || raw === "") return { ok: true, value: DEFAULT_ROOM };
  if (!ROOM_PATTERN.test(raw)) {
    return {
      ok: false,
      reason: `Invalid room: use 1 to ${MAX_ROOM_LENGTH} of the characters A-Z a-z 0-9 _ . -`,
    };
  }
  return { ok: true, value: raw };
}

/**
 * A name is 1-32 printable characters once trimmed (characters are code points, so an emoji
 * counts once); absent or blank means the default name.
 */
export function parseName(raw: string | undefined): Parsed {
  const name = raw?.trim() ?? "";
  if (name === "") return { ok: true, value: DEFAULT_NAME };
  if (UNPRINTABLE.test(name) || [...name].length > MAX_NAME_LENGTH) {
    return {
      ok: false,
      reason: `Invalid name: use 1 to ${MAX_NAME_LENGTH} printable characters`,
    };
  }
  return { ok: true, value: name };
}

/**
 * The display name the authorizer vouches for, made fit for the chat: a name from an identity
 * provider is not the user's to fix, so it is cleaned (unprintable characters dropped, trimmed,
 * cut to 32 characters) rather than refused. Undefined when there is none.
 */
export function nameFromAuthorizer(
  authorizer: Record<string, unknown> | null | undefined,
): string | undefined {
  const raw = authorizer && Object.hasOwn(authorizer, "name") ? authorizer.name : undefined;
  if (typeof raw !== "string") return undefined;
  const cleaned = [...raw.replace(new RegExp(UNPRINTABLE.source, "gu"), "").trim()]
    .slice(0, MAX_NAME_LENGTH)
    .join("")
    .trim();
  return cleaned === "" ? undefined : cleaned;
}

/** The subprotocols a client offered, in its order (header names are case-insensitive). */
export function offeredProtocols(headers: Record<string, string | undefined> = {}): string[] {
  const protocols: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== "sec-websocket-protocol" || typeof value !== "string") continue;
    for (const token of value.split(",")) if (token.trim()) protocols.push(token.trim());
  }
  return protocols;
}

// A query parameter named like an Object.prototype member must not read the prototype.
function ownValue(record: Record<string, string | undefined>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
