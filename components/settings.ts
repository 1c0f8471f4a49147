import type * as pulumi from "@pulumi/pulumi";
import { DEFAULT_NAME_CLAIM, JwtSettings, trustedUrl } from "../handlers/lib/access";
import {
  DEFAULT_CONNECTION_TTL_SECONDS,
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_HISTORY_RETENTION_SECONDS,
  DEFAULT_PRESENCE_NAME_LIMIT,
  DEFAULT_PRESENCE_NOTICES,
} from "../handlers/lib/environment";
import { DEFAULT_RATE_LIMIT, RateLimit } from "../handlers/lib/rate-limit";
import {
  AUTHORIZER,
  DEFAULT_MESSAGE_ROUTE,
  DEFAULT_ROUTE_SELECTION_EXPRESSION,
  HANDLER_NAMES,
  HandlerName,
  RESERVED_ROUTE_KEYS,
  ROUTES,
  routeKeyPath,
} from "../handlers/routes";
import { LambdaArchitecture } from "./args";
import type {
  PerHandler,
  WebSocketChatAccess,
  WebSocketChatArgs,
  WebSocketChatJwtAccess,
  WebSocketChatHistory,
  WebSocketChatPresence,
  WebSocketChatPerHandler,
  WebSocketChatThrottle,
} from "./args";

export { LambdaArchitecture };

/**
 * The one place where a chat's arguments become settings: defaults filled in, and every value
 * AWS would refuse late refused now, with the argument's name. The component (`pulumi up`) and
 * local mode (`npm start`) both call `resolveSettings`, so neither runs what the other refuses.
 * Pure: no Pulumi calls, no I/O.
 */

export const DEFAULT_THROTTLE: Required<WebSocketChatThrottle> = { burstLimit: 100, rateLimit: 50 };
export const DEFAULT_LAMBDA_RUNTIME = "nodejs24.x";
export const DEFAULT_LAMBDA_ARCHITECTURE: LambdaArchitecture = LambdaArchitecture.Arm64;
// Each function's memory and timeout: the route table's (handlers/routes.ts says why).
export const DEFAULT_MEMORY_MB: PerHandler<number> = perHandlerOf(
  (handler) => ROUTES[handler].memoryMb,
);
export const DEFAULT_TIMEOUT_SECONDS: PerHandler<number> = perHandlerOf(
  (handler) => ROUTES[handler].timeoutSeconds,
);
export const DEFAULT_LOG_RETENTION_DAYS = 14;
export const AUTHORIZER_MEMORY_MB = AUTHORIZER.memoryMb;
export const AUTHORIZER_TIMEOUT_SECONDS = AUTHORIZER.timeoutSeconds;
/** Access tokens shorter than this are too easy to guess, even at the stage's throttle. */
export const MIN_ACCESS_TOKEN_LENGTH = 16;

/**
 * Who may connect, resolved: a shared token, JWTs from an issuer, either, or (neither) anyone.
 * An access token stays as given (a secret Output, usually): the component hands the authorizer
 * only its SHA-256.
 */
export interface AccessSettings {
  accessToken?: pulumi.Input<string>;
  jwt?: JwtSettings<pulumi.Input<string>>;
}

/** Whether anyone may connect: no token, no issuer, no authorizer. */
export function isOpen(access: AccessSettings): boolean {
  return access.accessToken === undefined && access.jwt === undefined;
}

/** Every argument resolved: what the component deploys and what local mode runs. */
export type ChatSettings = Required<
  Omit<
    WebSocketChatArgs,
    | "stageName"
    | "throttle"
    | "lambda"
    | "kmsKeyArn"
    | "messageRateLimit"
    | "access"
    | "history"
    | "presence"
  >
> & {
  history: Required<WebSocketChatHistory>;
  presence: Required<WebSocketChatPresence>;
  stageName: string;
  /** Unset: DynamoDB's AWS-owned key. */
  kmsKeyArn?: WebSocketChatArgs["kmsKeyArn"];
  messageRateLimit: RateLimit;
  access: AccessSettings;
  throttle: Required<WebSocketChatThrottle>;
  lambda: {
    runtime: string;
    architecture: LambdaArchitecture;
    memorySize: PerHandler<number>;
    timeout: PerHandler<number>;
  };
};

const ARCHITECTURES: readonly LambdaArchitecture[] = Object.values(LambdaArchitecture);
// The bundles target Node 22 (handlers/bundle.ts): older runtimes may not run them.
const NODE_RUNTIME = /^nodejs(\d+)\.x$/;
const OLDEST_NODE_RUNTIME = 22;
// CloudWatch Logs accepts only these (0: never expire).
const LOG_RETENTION_DAYS = [
  0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
  3288, 3653,
];

/** `args` with every default filled in, for a stack named `stack`. Throws on a refused value. */
export function resolveSettings(args: WebSocketChatArgs, stack: string): ChatSettings {
  const messageRoute = args.messageRoute ?? DEFAULT_MESSAGE_ROUTE;
  if (messageRoute === "" || messageRoute.startsWith("$")) {
    throw new Error(
      `messageRoute must be a custom route key (not empty, not starting with "$"), got "${messageRoute}"`,
    );
  }
  if (RESERVED_ROUTE_KEYS.includes(messageRoute)) {
    throw new Error(
      `messageRoute cannot be "${messageRoute}": the chat's own actions use ${RESERVED_ROUTE_KEYS.map((key) => `"${key}"`).join(", ")}`,
    );
  }
  const routeSelectionExpression =
    args.routeSelectionExpression ?? DEFAULT_ROUTE_SELECTION_EXPRESSION;
  if (!routeKeyPath(routeSelectionExpression)) {
    throw new Error(
      `routeSelectionExpression must read the message body, like "$request.body.action", got "${routeSelectionExpression}"`,
    );
  }
  return {
    stageName: stageNameOf(args.stageName ?? stack),
    routeSelectionExpression,
    messageRoute,
    connectionTtlSeconds: integerIn(
      "connectionTtlSeconds",
      args.connectionTtlSeconds ?? DEFAULT_CONNECTION_TTL_SECONDS,
      1,
    ),
    history: {
      retentionSeconds: integerIn(
        "history.retentionSeconds",
        args.history?.retentionSeconds ?? DEFAULT_HISTORY_RETENTION_SECONDS,
        0,
      ),
      // Each message may take up to 128 KB: the replay of 500 is at most 64 MB in memory.
      limit: integerIn("history.limit", args.history?.limit ?? DEFAULT_HISTORY_LIMIT, 1, 500),
    },
    presence: {
      notices: args.presence?.notices ?? DEFAULT_PRESENCE_NOTICES,
      // 500 names of 32 characters fit one 128 KB frame even at 4 bytes a character.
      nameLimit: integerIn(
        "presence.nameLimit",
        args.presence?.nameLimit ?? DEFAULT_PRESENCE_NAME_LIMIT,
        1,
        500,
      ),
    },
    throttle: {
      burstLimit: integerIn(
        "throttle.burstLimit",
        args.throttle?.burstLimit ?? DEFAULT_THROTTLE.burstLimit,
        1,
      ),
      rateLimit: positiveNumber(
        "throttle.rateLimit",
        args.throttle?.rateLimit ?? DEFAULT_THROTTLE.rateLimit,
      ),
    },
    lambda: {
      runtime: runtimeOf(args.lambda?.runtime ?? DEFAULT_LAMBDA_RUNTIME),
      architecture: oneOf(
        "lambda.architecture",
        args.lambda?.architecture ?? DEFAULT_LAMBDA_ARCHITECTURE,
        ARCHITECTURES,
      ),
      // Lambda: 128 MB to 10,240 MB; 1 s to 900 s.
      memorySize: perHandler(
        "lambda.memorySize",
        DEFAULT_MEMORY_MB,
        args.lambda?.memorySize,
        [128, 10_240],
      ),
      timeout: perHandler(
        "lambda.timeout",
        DEFAULT_TIMEOUT_SECONDS,
        args.lambda?.timeout,
        [1, 900],
      ),
    },
    logRetentionDays: oneOf(
      "logRetentionDays",
      args.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
      LOG_RETENTION_DAYS,
    ),
    kmsKeyArn: args.kmsKeyArn === undefined ? undefined : kmsKeyArnOf(args.kmsKeyArn),
    tags: args.tags ?? {},
    messageRateLimit: {
      burst: integerIn(
        "messageRateLimit.burst",
        args.messageRateLimit?.burst ?? DEFAULT_RATE_LIMIT.burst,
        0,
      ),
      perSecond: numberFrom(
        "messageRateLimit.perSecond",
        args.messageRateLimit?.perSecond ?? DEFAULT_RATE_LIMIT.perSecond,
        0,
      ),
    },
    access: accessOf(args.access ?? {}),
  };
}

function accessOf({ accessToken, jwt }: WebSocketChatAccess): AccessSettings {
  // A secret Output is checked when its value is known (the component does it then).
  if (typeof accessToken === "string") checkAccessToken(accessToken);
  return { accessToken, jwt: jwt && jwtOf(jwt) };
}

/**
 * `jwt` with its values checked where they are known now. The issuer, audience and keys URL may
 * be another resource's outputs (a Cognito user pool's, its client's id): the component checks
 * those with the same functions once they resolve.
 */
function jwtOf(jwt: WebSocketChatJwtAccess): JwtSettings<pulumi.Input<string>> {
  if (!jwt.issuer) throw new Error("access.jwt.issuer must be set (the OIDC issuer URL)");
  if (typeof jwt.issuer === "string") checkIssuer(jwt.issuer);
  if (typeof jwt.jwksUri === "string") checkJwksUri(jwt.jwksUri);
  if (!jwt.audience) checkAudience("");
  if (typeof jwt.audience === "string") checkAudience(jwt.audience);
  const nameClaim = jwt.nameClaim ?? DEFAULT_NAME_CLAIM;
  if (nameClaim === "") throw new Error("access.jwt.nameClaim must not be empty");
  return { issuer: jwt.issuer, audience: jwt.audience, jwksUri: jwt.jwksUri, nameClaim };
}

export function checkIssuer(issuer: string): string {
  trustedUrl(issuer, "access.jwt.issuer");
  return issuer;
}

export function checkJwksUri(jwksUri: string): string {
  trustedUrl(jwksUri, "access.jwt.jwksUri");
  return jwksUri;
}

export function checkAudience(audience: string): string {
  // Without an audience, any token the issuer signs for any application would let a client in.
  if (!audience) throw new Error("access.jwt.audience must be set (the application's client id)");
  return audience;
}

/**
 * Throws unless `token` can be a shared access token: long enough not to be guessed, and
 * printable without spaces, so that it travels as `Bearer <token>` or in a query string.
 */
export function checkAccessToken(token: string): string {
  if (!/^[\x21-\x7e]+$/.test(token) || token.length < MIN_ACCESS_TOKEN_LENGTH) {
    throw new Error(
      `accessToken must be at least ${MIN_ACCESS_TOKEN_LENGTH} printable characters without spaces, ` +
        "for example: openssl rand -hex 32",
    );
  }
  return token;
}

/** A value for each handler, in the route table's order. */
function perHandlerOf<T>(value: (handler: HandlerName) => T): PerHandler<T> {
  return Object.fromEntries(
    HANDLER_NAMES.map((handler) => [handler, value(handler)]),
  ) as PerHandler<T>;
}

/** `defaults`, with each handler's value replaced where `overrides` sets one, each checked. */
function perHandler(
  name: string,
  defaults: PerHandler<number>,
  overrides: WebSocketChatPerHandler = {},
  [min, max]: [number, number],
): PerHandler<number> {
  for (const handler of Object.keys(overrides)) {
    if (!(HANDLER_NAMES as readonly string[]).includes(handler)) {
      throw new Error(`${name} has no handler "${handler}" (${HANDLER_NAMES.join(", ")})`);
    }
  }
  const values = { ...defaults };
  for (const handler of HANDLER_NAMES) {
    values[handler] = integerIn(
      `${name}.${handler}`,
      overrides[handler] ?? defaults[handler],
      min,
      max,
    );
  }
  return values;
}

// API Gateway stage names: letters, digits, "-" and "_", at most 128. A stack name may hold a
// "." (e.g. "team.prod"), which only deploying would otherwise reveal.
function stageNameOf(stageName: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
    throw new Error(
      `stageName "${stageName}" is not a valid API Gateway stage name (letters, digits, - and _): set stageName`,
    );
  }
  return stageName;
}

// A key ARN: IAM grants the use of a key on its key ARN, never on an alias ARN.
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/**
 * `arn`, refused unless a key ARN. An output (such as an `aws.kms.Key`'s `arn`) is taken as it
 * is: a typed-in string is where an alias or a key id slips in.
 */
function kmsKeyArnOf<Arn>(arn: Arn): Arn {
  if (typeof arn === "string" && !KMS_KEY_ARN.test(arn)) {
    throw new Error(
      `kmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>), got "${arn}"`,
    );
  }
  return arn;
}

function runtimeOf(runtime: string): string {
  const major = NODE_RUNTIME.exec(runtime)?.[1];
  if (major === undefined || Number(major) < OLDEST_NODE_RUNTIME) {
    throw new Error(
      `lambda.runtime must be a Node.js runtime from nodejs${OLDEST_NODE_RUNTIME}.x on (the bundles target Node ${OLDEST_NODE_RUNTIME}), got "${runtime}"`,
    );
  }
  return runtime;
}

function oneOf<T>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new Error(`${name} must be one of ${allowed.join(", ")}, got ${String(value)}`);
  }
  return value;
}

function positiveNumber(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new Error(`${name} must be greater than 0, got ${value}`);
  }
  return value;
}

function numberFrom(name: string, value: number, min: number): number {
  if (!(Number.isFinite(value) && value >= min)) {
    throw new Error(`${name} must be a number from ${min} on, got ${value}`);
  }
  return value;
}

function integerIn(
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new Error(`${name} must be a whole number ${range}, got ${value}`);
  }
  return value;
}
