import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import * as http from "http";
import { AddressInfo } from "net";
import { CONNECTION_KEY } from "../handlers/lib/connection-store";

// dynalite ships no types: it returns a plain http.Server whose close() also closes its store.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: Record<string, unknown>) => http.Server;

/** Region and credentials for SDK clients that talk to the local DynamoDB: any values work. */
export const LOCAL_AWS_ENV = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
} as const;

export interface LocalDynamoOptions {
  /** A directory to keep the data in across runs; undefined keeps it in memory. */
  path?: string;
  /** The interface to listen on; default 127.0.0.1. */
  host?: string;
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL_DYNAMODB` is set to. */
  endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite in this process on a free port. Tables become ACTIVE at once. */
export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const host = options.host ?? "127.0.0.1";
  const server = dynalite({
    path: options.path,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // The handlers' SDK clients keep sockets alive; do not wait for them to time out.
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * Creates the connections table with the key schema the component declares, or reuses it when
 * persisted data already has it. Resolves once the table is ACTIVE.
 */
export async function ensureConnectionsTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: {
      accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: CONNECTION_KEY, AttributeType: "S" }],
        KeySchema: [{ AttributeName: CONNECTION_KEY, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  try {
    // dynalite flips CREATING to ACTIVE on a timer, even with createTableMs 0.
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const key = Table?.KeySchema?.find((k) => k.KeyType === "HASH")?.AttributeName;
      if (key !== CONNECTION_KEY) {
        throw new Error(
          `Table ${tableName} at ${endpoint} has hash key ${key}, not ${CONNECTION_KEY}: use another data directory`,
        );
      }
      if (Table?.TableStatus === "ACTIVE") return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    client.destroy();
  }
}
