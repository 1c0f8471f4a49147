/**
 * The handlers' side of their environment variables: the names, and a reader per setting with
 * its default. components/environment.ts writes them, for the component and local mode alike;
 * handlers never derive endpoints from the event.
 */

import { CONNECTION_TTL_MARGIN_SECONDS, MAX_CONNECTION_MS } from "./limits";
import type { JwtSettings } from "./access";
import type { RateLimit } from "./rate-limit";

/** Names of the environment variables the component sets on the Lambdas. */
export const ENV = {
  tableName: "TABLE_NAME",
  managementEndpoint: "MANAGEMENT_ENDPOINT",
  connectionTtlSeconds: "CONNECTION_TTL_SECONDS",
  messageRoute: "MESSAGE_ROUTE",
  routeSelectionExpression: "ROUTE_SELECTION_EXPRESSION",
  /** Per-connection message rate limit (handlers/lib/rate-limit.ts); unset or 0: no limit. */
  rateLimitBurst: "RATE_LIMIT_BURST",
  rateLimitPerSecond: "RATE_LIMIT_PER_SECOND",
  /** The authorizer's settings (handlers/authorize.ts); only its own function gets them. */
  accessTokenSha256: "ACCESS_TOKEN_SHA256",
  authIssuer: "AUTH_ISSUER",
  authAudience: "AUTH_AUDIENCE",
  authJwksUri: "AUTH_JWKS_URI",
  authNameClaim: "AUTH_NAME_CLAIM",
  historyTableName: "HISTORY_TABLE_NAME",
  /** 0: the chat keeps no history. */
  historyRetentionSeconds: "HISTORY_RETENTION_SECONDS",
  historyLimit: "HISTORY_LIMIT",
  /** "true": joined and left notices to the room's chat.v1 clients. */
  presenceNotices: "PRESENCE_NOTICES",
  /** The most names a `who` reply lists. */
  presenceNameLimit: "PRESENCE_NAME_LIMIT",
  /** Optional: items per Query page (unset: DynamoDB's 1 MB pages). Tests use it to force paging. */
  pageSize: "QUERY_PAGE_SIZE",
} as const;

/**
 * Who may connect: clients that present the shared token (of which the authorizer holds only
 * the SHA-256), or a JWT from the OIDC issuer for the audience, or either when both are set.
 * Neither: anyone, and there is no authorizer.
 */
export interface AccessControl<Value = string> {
  accessTokenSha256?: Value;
  jwt?: JwtSettings<Value>;
}

/** The authorizer function's environment variables: its own, given to no other function. */
export function authorizerEnvironment<Value>(
  access: AccessControl<Value>,
): Record<string, Value | string> {
  const environment: Record<string, Value | string> = {};
  if (access.accessTokenSha256 !== undefined)
    environment[ENV.accessTokenSha256] = access.accessTokenSha256;
  if (access.jwt) {
    environment[ENV.authIssuer] = access.jwt.issuer;
    environment[ENV.authAudience] = access.jwt.audience;
    if (access.jwt.jwksUri) environment[ENV.authJwksUri] = access.jwt.jwksUri;
    environment[ENV.authNameClaim] = access.jwt.nameClaim;
  }
  return environment;
}

// API Gateway closes every connection after 2 hours: keep records a little longer than that.
export const DEFAULT_CONNECTION_TTL_SECONDS =
  MAX_CONNECTION_MS / 1000 + CONNECTION_TTL_MARGIN_SECONDS;

/** A room's history is kept a day, and `history` replays its 50 latest messages. */
export const DEFAULT_HISTORY_RETENTION_SECONDS = 24 * 60 * 60;
export const DEFAULT_HISTORY_LIMIT = 50;

/** Joins and departures are announced; `who` lists up to 100 names. */
export const DEFAULT_PRESENCE_NOTICES = true;
export const DEFAULT_PRESENCE_NAME_LIMIT = 100;

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

export function connectionTtlSeconds(): number {
  return optionalPositiveInteger(ENV.connectionTtlSeconds) ?? DEFAULT_CONNECTION_TTL_SECONDS;
}

/** The message rate limit the function was given; without one (or with a 0), none. */
export function messageRateLimit(): RateLimit {
  return {
    burst: optionalNumber(ENV.rateLimitBurst, Number.isInteger) ?? 0,
    perSecond: optionalNumber(ENV.rateLimitPerSecond, Number.isFinite) ?? 0,
  };
}

/** Seconds a message is kept; 0 keeps none. */
export function historyRetentionSeconds(): number {
  return optionalInteger(ENV.historyRetentionSeconds, 0) ?? DEFAULT_HISTORY_RETENTION_SECONDS;
}

export function historyLimit(): number {
  return optionalPositiveInteger(ENV.historyLimit) ?? DEFAULT_HISTORY_LIMIT;
}

/** Whether the room's chat.v1 clients hear of joins and departures. */
export function presenceNotices(): boolean {
  const raw = process.env[ENV.presenceNotices];
  if (raw === undefined || raw === "") return DEFAULT_PRESENCE_NOTICES;
  if (raw !== "true" && raw !== "false")
    throw new Error(`${ENV.presenceNotices} must be "true" or "false", got "${raw}"`);
  return raw === "true";
}

export function presenceNameLimit(): number {
  return optionalPositiveInteger(ENV.presenceNameLimit) ?? DEFAULT_PRESENCE_NAME_LIMIT;
}

export function pageSize(): number | undefined {
  return optionalPositiveInteger(ENV.pageSize);
}

function optionalNumber(name: string, valid: (value: number) => boolean): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!valid(value) || value < 0)
    throw new Error(`${name} must be a number from 0 on, got "${raw}"`);
  return value;
}

function optionalPositiveInteger(name: string): number | undefined {
  return optionalInteger(name, 1);
}

function optionalInteger(name: string, min: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be a whole number of at least ${min}, got "${raw}"`);
  return value;
}
