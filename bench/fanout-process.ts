import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { pathToFileURL } from "url";
import { ENV, pageSize, requireEnv } from "../handlers/lib/environment";
import { DEFAULT_MESSAGE_ROUTE } from "../handlers/routes";
import { Cost, measure } from "./measure";
import { serve } from "./rpc";
import { INTEGRATION_TIMEOUT_MS } from "../handlers/lib/limits";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ConnectionStore } from "../handlers/lib/connection-store";
import {
  Delivery,
  SdkClients,
  SigningClient,
  UndiciSigningClient,
  oneAtATime,
  singlePageAllAtOnce,
} from "./strategies";

/**
 * The fan-out under test, one strategy per process so that each one's CPU and heap are its own.
 * Its environment is the message Lambda's: TABLE_NAME, MANAGEMENT_ENDPOINT,
 * AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION and credentials.
 */

type Handler = (
  event: APIGatewayProxyWebsocketEventV2,
  context: Pick<Context, "getRemainingTimeInMillis">,
) => Promise<APIGatewayProxyResultV2>;

// ts-node compiles import() to require(), which cannot load the ES module bundle; a Function
// body keeps Node's real dynamic import.
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importModule = new Function("url", "return import(url)") as (
  url: string,
) => Promise<{ handler: Handler }>;

let handler: Handler | undefined;
let sdkClients: SdkClients | undefined;
const signingClients = new Map<number, SigningClient>();
const undiciClients = new Map<number, UndiciSigningClient>();
let store: ConnectionStore | undefined;
let invocation = 0;
const messageRoute = process.env[ENV.messageRoute] || DEFAULT_MESSAGE_ROUTE;

function sdk(): SdkClients {
  sdkClients ??= new SdkClients(requireEnv(ENV.tableName), requireEnv(ENV.managementEndpoint));
  return sdkClients;
}

function messageEvent(senderId: string, body: string): APIGatewayProxyWebsocketEventV2 {
  const now = Date.now();
  invocation++;
  return {
    requestContext: {
      routeKey: messageRoute,
      eventType: "MESSAGE",
      messageId: `bench${invocation}=`,
      extendedRequestId: `benchext${invocation}=`,
      requestTime: new Date(now).toUTCString(),
      messageDirection: "IN",
      stage: "bench",
      connectedAt: now,
      requestTimeEpoch: now,
      requestId: `benchreq${invocation}=`,
      domainName: "localhost",
      connectionId: senderId,
      apiId: "bench",
    },
    body,
    isBase64Encoded: false,
  };
}

export const methods = {
  /** Loads the message handler's deployable bundle, as a Lambda cold start does. */
  async loadHandler(bundlePath: string): Promise<void> {
    ({ handler } = await importModule(pathToFileURL(bundlePath).href));
  },

  /** 1. This project's message handler, invoked with a real message event. */
  async handler(payload: string, senderId: string): Promise<{ cost: Cost; statusCode?: number }> {
    if (!handler) throw new Error("loadHandler first");
    const run = handler;
    const body = JSON.stringify({ action: messageRoute, data: payload });
    const deadline = Date.now() + INTEGRATION_TIMEOUT_MS;
    const { cost, result } = await measure(() =>
      run(messageEvent(senderId, body), { getRemainingTimeInMillis: () => deadline - Date.now() }),
    );
    return { cost, statusCode: typeof result === "object" ? result.statusCode : undefined };
  },

  async singlePageAllAtOnce(payload: string): Promise<{ cost: Cost; delivery: Delivery }> {
    const clients = sdk();
    const { cost, result } = await measure(() => singlePageAllAtOnce(clients, payload));
    return { cost, delivery: result };
  },

  async oneAtATime(payload: string): Promise<{ cost: Cost; delivery: Delivery }> {
    const clients = sdk();
    const { cost, result } = await measure(() => oneAtATime(clients, payload));
    return { cost, delivery: result };
  },

  async signingClient(
    ids: string[],
    payload: string,
    concurrency: number,
  ): Promise<{ cost: Cost; delivery: Delivery }> {
    let client = signingClients.get(concurrency);
    if (!client) {
      client = new SigningClient(requireEnv(ENV.managementEndpoint), concurrency);
      signingClients.set(concurrency, client);
    }
    const signing = client;
    const { cost, result } = await measure(() => signing.broadcast(ids, payload));
    return { cost, delivery: result };
  },

  async undiciSigningClient(
    ids: string[],
    payload: string,
    concurrency: number,
  ): Promise<{ cost: Cost; delivery: Delivery }> {
    let client = undiciClients.get(concurrency);
    if (!client) {
      client = new UndiciSigningClient(requireEnv(ENV.managementEndpoint), concurrency);
      undiciClients.set(concurrency, client);
    }
    const signing = client;
    const { cost, result } = await measure(() => signing.broadcast(ids, payload));
    return { cost, delivery: result };
  },

  /**
   * The handler's read of the room alone: the sender's room (not measured), then every page of
   * its Query as the broadcast asks for it (ids and formats), with the handler's store code.
   */
  async roomQuery(senderId: string): Promise<{ cost: Cost; members: number }> {
    store ??= new ConnectionStore(new DynamoDBClient({}), requireEnv(ENV.tableName), {
      pageSize: pageSize(),
    });
    const reader = store;
    const sender = await reader.get(senderId);
    if (!sender) throw new Error(`No record for the sender ${senderId}`);
    const { cost, result } = await measure(async () => {
      let members = 0;
      for await (const page of reader.roomPages(sender.room, { names: false }))
        members += page.length;
      return members;
    });
    return { cost, members: result };
  },
};

serve(methods);
