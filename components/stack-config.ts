import type * as pulumi from "@pulumi/pulumi";
import { checkAccessToken, type LambdaArchitecture } from "./settings";
import type { WebSocketChatArgs } from "./args";

/**
 * A stack's configuration (the keys Pulumi.yaml declares) as the component's arguments. index.ts
 * reads it through `pulumi.Config`, local mode through the Pulumi files themselves; both then
 * resolve the arguments with `resolveSettings`, so they check and default them alike.
 */

/** What both readers offer: a key's value as text, undefined when unset. */
export interface ConfigSource {
  get(key: string): string | undefined;
  /** The value as a secret Output, where the reader has secrets (`pulumi.Config` does). */
  getSecret?(key: string): pulumi.Output<string> | undefined;
}

/** The arguments the stack's configuration sets; an empty value counts as unset. */
export function chatArgsFromStackConfig(config: ConfigSource): WebSocketChatArgs {
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
  const boolean = (key: string): boolean | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (value !== "true" && value !== "false") {
      throw new Error(`Configuration key ${key} must be true or false, got "${value}"`);
    }
    return value === "true";
  };
  const memory = number("lambdaMemorySize");
  // `pulumi config set --secret accessToken ...`: checked while its value is at hand (the
  // component checks an Output only once it resolves), then kept a secret.
  const plainToken = text("accessToken");
  const accessToken =
    plainToken === undefined ? undefined : (config.getSecret?.("accessToken") ?? plainToken);
  if (plainToken !== undefined) checkAccessToken(plainToken);
  const jwtKeys = ["authIssuer", "authAudience", "authJwksUri"];
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
    messageRateLimit: {
      burst: number("messageRateBurst"),
      perSecond: number("messageRatePerSecond"),
    },
    access: {
      accessToken,
      jwt: jwtKeys.some((key) => text(key) !== undefined)
        ? {
            issuer: text("authIssuer") ?? "",
            audience: text("authAudience") ?? "",
            jwksUri: text("authJwksUri"),
            nameClaim: text("authNameClaim"),
          }
        : undefined,
    },
    history: {
      retentionSeconds: number("historyRetentionSeconds"),
      limit: number("historyLimit"),
    },
    presence: {
      notices: boolean("presenceNotices"),
      nameLimit: number("presenceNameLimit"),
    },
  };
}
