import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { chatArgsFromStackConfig } from "../components/stack-config";
import {
  AccessSettings,
  AUTHORIZER_TIMEOUT_SECONDS,
  ChatSettings,
  isOpen,
  resolveSettings,
} from "../components/settings";
import { accessTokenDigest, JwtSettings } from "../handlers/lib/access";
import { handlerEnvironment } from "../components/environment";
import { AccessControl, authorizerEnvironment } from "../handlers/lib/environment";
import { CONNECTIONS_TABLE, HISTORY_TABLE } from "../handlers/lib/tables";
import { AUTHORIZER_HANDLER, FunctionName, HandlerName, chatRoutes } from "../handlers/routes";
import { LOCAL_AWS_ENV, LocalDynamo, ensureTable, startLocalDynamo } from "./dynamo";
import { LocalGateway, RouteInvoker } from "./gateway";
import { LocalLambda, writeBundle } from "./lambda-runtime";
import { PROJECT_DIR, readStackFiles } from "./stack-files";

export interface LocalChatOptions {
  /** Interface the gateway listens on. @default "127.0.0.1" */
  host?: string;
  /** Gateway port; 0 picks a free one. @default 3001 */
  port?: number;
  /** The Pulumi stack whose `Pulumi.<stack>.yaml` supplies the settings below. @default "dev" */
  stack?: string;
  /** Where Pulumi.yaml and Pulumi.<stack>.yaml live. @default the project root */
  projectDir?: string;
  /** The URL's last path segment. @default `stageName` from Pulumi.<stack>.yaml, else the stack name */
  stage?: string;
  /** @default `routeSelectionExpression` from Pulumi.<stack>.yaml, else "$request.body.action" */
  routeSelectionExpression?: string;
  /** @default `messageRoute` from Pulumi.<stack>.yaml, else "sendmessage" */
  messageRoute?: string;
  /** @default `connectionTtlSeconds` from Pulumi.<stack>.yaml, else the component's default */
  connectionTtlSeconds?: number;
  /**
   * The shared access token clients must present. A stack's `accessToken` is a secret that
   * only the Pulumi CLI can decrypt, so local mode takes it from here (`CHAT_ACCESS_TOKEN`).
   * @default `accessToken` from Pulumi.<stack>.yaml when it is set in plain text
   */
  accessToken?: string;
  /**
   * Whether `$connect` and `$disconnect` tell the room's chat.v1 clients who joined and left.
   * @default `presence.notices` from Pulumi.<stack>.yaml, else on
   */
  presenceNotices?: boolean;
  /** A directory that keeps the table's data across runs; undefined keeps it in memory. */
  dataDir?: string;
  /**
   * A DynamoDB to use instead of starting dynalite (DynamoDB Local, or a proxy in front of one):
   * the tables are created there if missing. @default dynalite in this process
   */
  dynamoEndpoint?: string;
  /** Closes connections idle this long. @default 10 minutes, as API Gateway */
  idleTimeoutMs?: number;
  /** Closes connections open this long. @default 2 hours, as API Gateway */
  maxConnectionMs?: number;
  /** Delay added to every @connections call (for benchmarks). @default 0 */
  managementLatencyMs?: number;
  /** How long the @connections API keeps idle keep-alive connections (for benchmarks). @default 5 s */
  managementKeepAliveMs?: number;
  /**
   * Invocations of one function that run at once, each in a worker thread of its own; more wait
   * for one to come free (10 s at most, then they are throttled). @default 2
   */
  concurrency?: number;
  /**
   * Receives the gateway's log: one JSON object per line, per connect, message, disconnect and
   * refusal. @default none
   */
  log?: (line: string) => void;
  /**
   * Receives each line the functions log (the handlers' are JSON objects), with the name of the
   * handler that wrote it. @default this process's stdout and stderr
   */
  functionLog?: (line: string, functionName: FunctionName) => void;
  /**
   * Serve wss:// and https:// with this key and certificate (see `localCertificate`). The
   * functions trust it only if this process was started with NODE_EXTRA_CA_CERTS naming its
   * CA. @default plain ws:// and http://
   */
  tls?: { key: string; cert: string };
}

export interface LocalChat {
  /** `ws://host:port/stage` (`wss://` with `tls`): what clients connect to. */
  url: string;
  /** `http://host:port/stage` (`https://` with `tls`): what MANAGEMENT_ENDPOINT is set to. */
  managementEndpoint: string;
  /** `http://127.0.0.1:<port>` of the local DynamoDB. */
  dynamoEndpoint: string;
  tableName: string;
  stage: string;
  routeSelectionExpression: string;
  messageRoute: string;
  /** The stack's settings as `pulumi up` would deploy them, with this run's overrides. */
  settings: ChatSettings;
  /** The environment every local function gets: what the component sets, and local endpoints. */
  environment: Readonly<Record<string, string>>;
  gateway: LocalGateway;
  /** Each handler's function, running the deployable bundle. */
  functions: ReadonlyMap<HandlerName, LocalLambda>;
  /** Closes every connection (running `$disconnect`), then the Lambdas, DynamoDB and the bundles. */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 3001;
export const DEFAULT_STACK = "dev";
const LOCAL_TABLE_NAME = "websocket-chat-connections";
const LOCAL_HISTORY_TABLE_NAME = "websocket-chat-history";

/**
 * The whole chat on this machine: dynalite with the connections table, the deployable handler
 * bundles each in its own LocalLambda, and a LocalGateway routing to them with the stack's
 * route table and selection expression.
 */
export async function startLocalChat(options: LocalChatOptions = {}): Promise<LocalChat> {
  const stack = options.stack ?? DEFAULT_STACK;
  const stackConfig = readStackFiles(stack, options.projectDir ?? PROJECT_DIR);
  // What `pulumi up` would deploy for this stack, with this run's overrides: checked alike.
  const args = chatArgsFromStackConfig({
    get: (key) =>
      key === "accessToken" && options.accessToken !== undefined
        ? options.accessToken
        : stackConfig.config.get(key),
  });
  const settings = resolveSettings(
    {
      ...args,
      stageName: options.stage ?? args.stageName,
      routeSelectionExpression: options.routeSelectionExpression ?? args.routeSelectionExpression,
      messageRoute: options.messageRoute ?? args.messageRoute,
      connectionTtlSeconds: options.connectionTtlSeconds ?? args.connectionTtlSeconds,
      presence:
        options.presenceNotices === undefined
          ? args.presence
          : { ...args.presence, notices: options.presenceNotices },
    },
    stack,
  );
  const { stageName: stage, routeSelectionExpression, messageRoute, access } = settings;
  const routes = chatRoutes(messageRoute);
  const region = stackConfig.region ?? LOCAL_AWS_ENV.AWS_REGION;

  // Stopped in this order: the gateway first, because closing it runs $disconnect.
  let gateway: LocalGateway | undefined;
  const functions = new Map<HandlerName, LocalLambda>();
  let authorizer: LocalLambda | undefined;
  // Each function's lines, told apart by its name; none: straight to this process's output.
  const functionLog = (name: FunctionName) => {
    const sink = options.functionLog;
    return sink && ((line: string) => sink(line, name));
  };
  let dynamo: LocalDynamo | undefined;
  let bundleDir: string | undefined;
  const close = async () => {
    await gateway?.close();
    const running = [...functions.values(), ...(authorizer ? [authorizer] : [])];
    await Promise.all(running.map((lambda) => lambda.close()));
    await dynamo?.close();
    if (bundleDir) await fs.rm(bundleDir, { recursive: true, force: true });
    gateway = dynamo = bundleDir = authorizer = undefined;
    functions.clear();
  };

  let startFailed = (_err: unknown) => {};
  try {
    bundleDir = await fs.mkdtemp(path.join(os.tmpdir(), "websocket-chat-"));
    const deployed: FunctionName[] = routes.map((route) => route.handler);
    if (!isOpen(access)) deployed.push(AUTHORIZER_HANDLER);
    const bundles = bundleAll(deployed, bundleDir);

    dynamo = options.dynamoEndpoint
      ? { endpoint: options.dynamoEndpoint, close: () => Promise.resolve() }
      : await startLocalDynamo({ path: options.dataDir });
    // In the functions' region: a DynamoDB Local keeps each region's tables apart.
    await ensureTable(dynamo.endpoint, LOCAL_TABLE_NAME, CONNECTIONS_TABLE, region);
    // As deployed: the history table exists whatever the retention.
    await ensureTable(dynamo.endpoint, LOCAL_HISTORY_TABLE_NAME, HISTORY_TABLE, region);

    // The gateway listens first: the functions need its port in MANAGEMENT_ENDPOINT. Until
    // they are up, an early client's $connect waits for them.
    let functionsStarted!: () => void;
    let functionsFailed!: (err: unknown) => void;
    const functionsReady = new Promise<void>((resolve, reject) => {
      functionsStarted = resolve;
      functionsFailed = reject;
    });
    functionsReady.catch(() => {}); // only the invokers care
    startFailed = functionsFailed;
    // Object.fromEntries defines every route key as its own property, "__proto__" included.
    const invokers: Record<string, RouteInvoker> = Object.fromEntries(
      routes.map(({ routeKey, handler }): [string, RouteInvoker] => [
        routeKey,
        async (event) => {
          await functionsReady;
          return functions.get(handler)!.invoke(event);
        },
      ]),
    );
    gateway = await LocalGateway.start({
      host: options.host,
      port: options.port ?? DEFAULT_PORT,
      stage,
      routeSelectionExpression,
      routes: invokers,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      managementLatencyMs: options.managementLatencyMs,
      managementKeepAliveMs: options.managementKeepAliveMs,
      authorizer: isOpen(access)
        ? undefined
        : async (event) => {
            await functionsReady;
            return authorizer!.invoke(event);
          },
      region,
      log: options.log,
      tls: options.tls,
    });

    const environment: Record<string, string> = {
      ...handlerEnvironment(settings, {
        connectionsTableName: LOCAL_TABLE_NAME,
        historyTableName: LOCAL_HISTORY_TABLE_NAME,
        managementEndpoint: gateway.managementEndpoint,
      }),
      // The SDK's standard per-service endpoint override: the handlers need no local code path.
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      ...LOCAL_AWS_ENV,
      AWS_REGION: region,
    };
    const bundlePaths = await bundles;
    // One function at a time: each start loads its bundle in a worker thread and stops it, and
    // the memory of worker threads that ran side by side stays with the process (the C heap keeps
    // it): about 45 MB of an idle npm start's RSS, against 8 MB one at a time.
    for (const { handler } of routes) {
      const lambda = await LocalLambda.start({
        bundlePath: bundlePaths.get(handler)!,
        functionName: `websocket-chat-${handler}`,
        environment,
        // Each function's own timeout, as deployed.
        timeoutMs: settings.lambda.timeout[handler] * 1000,
        memoryMb: settings.lambda.memorySize[handler],
        log: functionLog(handler),
        concurrency: options.concurrency,
      });
      functions.set(handler, lambda);
    }
    if (!isOpen(access)) {
      authorizer = await LocalLambda.start({
        bundlePath: bundlePaths.get(AUTHORIZER_HANDLER)!,
        functionName: `websocket-chat-${AUTHORIZER_HANDLER}`,
        // Its own settings only, as deployed: it has no business with the table.
        environment: { ...authorizerEnvironment(localAccess(access)), AWS_REGION: region },
        timeoutMs: AUTHORIZER_TIMEOUT_SECONDS * 1000,
        log: functionLog(AUTHORIZER_HANDLER),
      });
    }
    functionsStarted();
    // Each function has loaded its bundle: remove them now, so that even a killed process leaves
    // nothing behind.
    await fs.rm(bundleDir, { recursive: true, force: true });
    bundleDir = undefined;

    return {
      url: gateway.url,
      managementEndpoint: gateway.managementEndpoint,
      dynamoEndpoint: dynamo.endpoint,
      tableName: LOCAL_TABLE_NAME,
      stage,
      routeSelectionExpression,
      messageRoute,
      settings,
      environment,
      gateway,
      functions,
      close,
    };
  } catch (err) {
    startFailed(err); // an early client's $connect fails (502) instead of waiting forever
    await close();
    throw err;
  }
}

/** The authorizer's settings as the component gives them: a token only as its digest. */
export function localAccess({ accessToken, jwt }: AccessSettings): AccessControl {
  // Local settings come from text (the stack files), never from a Pulumi Output.
  const token = accessToken as string | undefined;
  return {
    accessTokenSha256: token === undefined ? undefined : accessTokenDigest(token),
    jwt: jwt as JwtSettings | undefined,
  };
}

async function bundleAll(
  handlers: FunctionName[],
  dir: string,
): Promise<Map<FunctionName, string>> {
  const unique = [...new Set(handlers)];
  const paths = await Promise.all(unique.map((handler) => writeBundle(handler, dir)));
  return new Map(unique.map((handler, i) => [handler, paths[i]]));
}
