import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import * as http from "http";
import * as https from "https";

/** Sends one message to one connection; throws the @connections API's typed errors. */
export interface ConnectionPoster {
  post(connectionId: string, data: Uint8Array): Promise<void>;
}

/**
 * A poster for the @connections API at `endpoint` (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
 * Keep-alive sockets are sized to the broadcast's concurrency so that no post waits for a
 * socket and none is opened twice.
 */
export function managementPoster(endpoint: string, maxSockets: number): ConnectionPoster {
  const agentOptions = { keepAlive: true, maxSockets };
  const client = new ApiGatewayManagementApiClient({
    endpoint,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    }),
  });
  return {
    async post(connectionId, data) {
      await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
    },
  };
}
