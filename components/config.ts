import type { LambdaArchitecture } from "./settings";
import type { WebSocketChatArgs } from "./web-socket-chat";

/**
 * A stack's configuration (the keys Pulumi.yaml declares) as the component's arguments. index.ts
 * reads it through `pulumi.Config`, local mode through the Pulumi files themselves; both then
 * resolve the arguments with `resolveSettings`, so they check and default them alike.
 */

/** What both readers offer: a key's value as text, undefined when unset. */
export interface ConfigSource {
  get(key: string): string | undefined;
}

/** The arguments the stack's configuration sets; an empty value counts as unset. */
export function chatArgsFromConfig(config: ConfigSource): WebSocketChatArgs {
  const text = (key: string): string | undefined => {
    const value = config.get(key);
    return value === undefined || value === "" ? undefined : value;
  };
  const number = (key: string): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) {
      throw new Error(`Configuration key ${key} must be a number, got "${value}"`);
    }
    return parsed;
  };
  const memory = number("lambdaMemorySize");
  return {
    stageName: text("stageName"),
    routeSelectionExpression: text("routeSelectionExpression"),
    messageRoute: text("messageRoute"),
    connectionTtlSeconds: number("connectionTtlSeconds"),
    throttle: {
      burstLimit: number("throttleBurstLimit"),
      rateLimit: number("throttleRateLimit"),
    },
    lambda: {
      runtime: text("lambdaRuntime"),
      // resolveSettings refuses anything but the two architectures.
      architecture: text("lambdaArchitecture") as LambdaArchitecture | undefined,
      memorySize: memory === undefined ? undefined : { message: memory },
    },
    logRetentionDays: number("logRetentionDays"),
    kmsKeyArn: text("kmsKeyArn"),
  };
}
