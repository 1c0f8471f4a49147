import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FunctionName } from "../../handlers/routes";
import { WebSocketEvent } from "../../local/gateway-events";
import { LocalLambda, writeBundle } from "../../local/lambda-runtime";
import { INTEGRATION_TIMEOUT_MS } from "../../handlers/lib/limits";
import { RECORD_AWS_CALLS, recordAwsCalls } from "./aws-calls";
import { CapturedLog } from "./captured-log";
import { TEST_CREDENTIALS, TEST_REGION } from "./dynamo";
import { PROMPTLY_MS, STARTUP_MS, within } from "./within";

export interface HandlerResult {
  statusCode: number;
  body: string;
}

export interface TestHandler {
  /** Runs the handler on an event built by a test or by the local gateway. */
  invoke(event: APIGatewayProxyWebsocketEventV2 | WebSocketEvent): Promise<HandlerResult>;
  /** What the handler logged. Its worker's output arrives apart from its results: see `entry()`. */
  logs: CapturedLog;
  close(): Promise<void>;
}

/**
 * Starts the deployable bundle of one handler with the environment the component gives it,
 * and a Lambda timeout of `timeoutMs` (API Gateway's 29 s unless a test wants less). Its log
 * lines go to `logs`, never to mocha's output.
 */
export async function startHandler(
  handler: FunctionName,
  environment: Record<string, string>,
  logs = new CapturedLog(),
  timeoutMs: number = INTEGRATION_TIMEOUT_MS,
): Promise<TestHandler> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-handler-"));
  const bundlePath = await writeBundle(handler, dir);
  // test/permissions.test.ts runs the handler tests with this set, to learn what they call.
  const recordTo = process.env[RECORD_AWS_CALLS];
  const recording = recordTo ? await recordAwsCalls(recordTo, handler, environment) : undefined;
  const lambda = await within(
    STARTUP_MS,
    `the ${handler} bundle to load`,
    LocalLambda.start({
      bundlePath,
      functionName: handler,
      timeoutMs,
      environment: {
        AWS_REGION: TEST_REGION,
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        ...(recording?.environment ?? environment),
      },
      log: recording ? recording.logTo(logs.write) : logs.write,
    }),
  );
  return {
    logs,
    invoke: (event) =>
      within(
        PROMPTLY_MS,
        `the ${handler} handler's answer to ${event.requestContext.routeKey}`,
        lambda.invoke<HandlerResult>(event),
      ),
    close: async () => {
      await lambda.close();
      await recording?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let requestCount = 0;

/** An event shaped like API Gateway's Lambda proxy event for a WebSocket route. */
export function websocketEvent(
  eventType: "CONNECT" | "MESSAGE" | "DISCONNECT",
  routeKey: string,
  connectionId: string,
  body?: string,
): APIGatewayProxyWebsocketEventV2 {
  const now = Date.now();
  requestCount++;
  return {
    requestContext: {
      routeKey,
      eventType,
      messageId: `msg${requestCount}=`,
      extendedRequestId: `ext${requestCount}=`,
      requestTime: new Date(now).toUTCString(),
      messageDirection: "IN",
      stage: "test",
      connectedAt: now,
      requestTimeEpoch: now,
      requestId: `req${requestCount}=`,
      domainName: "example.execute-api.us-east-1.amazonaws.com",
      connectionId,
      apiId: "example",
    },
    body,
    isBase64Encoded: false,
  };
}
