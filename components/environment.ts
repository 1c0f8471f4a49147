import { ENV } from "../handlers/lib/environment";
import type { ChatSettings } from "./settings";

/**
 * Where a chat's functions find its resources: table names and the @connections endpoint,
 * Pulumi outputs when deployed, plain strings in local mode.
 */
export interface ChatResourceNames<Value> {
  connectionsTableName: Value;
  historyTableName: Value;
  managementEndpoint: Value;
}

/**
 * The environment of every route's function, from the chat's resolved settings: the one place
 * a setting becomes a variable, for `pulumi up` and `npm start` alike. Every route's function
 * gets the same variables, and each reads only what it uses.
 */
export function handlerEnvironment<Value>(
  settings: ChatSettings,
  resources: ChatResourceNames<Value>,
): Record<string, Value | string> {
  return {
    [ENV.tableName]: resources.connectionsTableName,
    [ENV.managementEndpoint]: resources.managementEndpoint,
    [ENV.connectionTtlSeconds]: String(settings.connectionTtlSeconds),
    [ENV.messageRoute]: settings.messageRoute,
    [ENV.routeSelectionExpression]: settings.routeSelectionExpression,
    [ENV.rateLimitBurst]: String(settings.messageRateLimit.burst),
    [ENV.rateLimitPerSecond]: String(settings.messageRateLimit.perSecond),
    [ENV.historyTableName]: resources.historyTableName,
    [ENV.historyRetentionSeconds]: String(settings.history.retentionSeconds),
    [ENV.historyLimit]: String(settings.history.limit),
    [ENV.presenceNotices]: String(settings.presence.notices),
    [ENV.presenceNameLimit]: String(settings.presence.nameLimit),
  };
}
