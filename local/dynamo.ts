import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  KeySchemaElement,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import * as http from "http";
import { AddressInfo } from "net";
import { keyAttributes, TableSchema } from "../handlers/lib/tables";

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
 * Creates a table with the keys and index `schema` declares (as the component does), or reuses
 * it when persisted data already has that shape. Resolves once the table is ACTIVE. dynalite
 * never expires items, which is why every read filters on the expiry attribute itself.
 * `region` must be the functions' own: DynamoDB Local, like AWS, keeps each region's tables apart
 * (dynalite has one set for all).
 */
export async function ensureTable(
  endpoint: string,
  tableName: string,
  schema: TableSchema,
  region: string = LOCAL_AWS_ENV.AWS_REGION,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials: {
      accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
  });
  const keySchema = (hashKey: string, rangeKey?: string): KeySchemaElement[] => [
    { AttributeName: hashKey, KeyType: "HASH" },
    ...(rangeKey ? [{ AttributeName: rangeKey, KeyType: "RANGE" as const }] : []),
  ];
  const { index } = schema;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: keyAttributes(schema).map((name) => ({
          AttributeName: name,
          AttributeType: "S",
        })),
        KeySchema: keySchema(schema.hashKey, schema.rangeKey),
        GlobalSecondaryIndexes: index && [
          {
            IndexName: index.name,
            KeySchema: keySchema(index.hashKey, index.rangeKey),
            Projection: {
              ProjectionType: "INCLUDE",
              NonKeyAttributes: [...index.nonKeyAttributes],
            },
          },
        ],
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
      const shape = describeShape(Table?.KeySchema, Table?.GlobalSecondaryIndexes);
      const expected = describeShape(
        keySchema(schema.hashKey, schema.rangeKey),
        index && [{ IndexName: index.name, KeySchema: keySchema(index.hashKey, index.rangeKey) }],
      );
      if (shape !== expected) {
        throw new Error(
          `Table ${tableName} at ${endpoint} is keyed ${shape}, not ${expected}: use another data directory`,
        );
      }
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
        (gsi) => gsi.IndexStatus === "ACTIVE",
      );
      if (Table?.TableStatus === "ACTIVE" && indexesActive) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    client.destroy();
  }
}

/** Keys and indexes as one comparable line, e.g. `connectionId (index byRoom: room, connectionId)`. */
function describeShape(
  keys: KeySchemaElement[] = [],
  indexes: { IndexName?: string; KeySchema?: KeySchemaElement[] }[] = [],
): string {
  const names = (schema: KeySchemaElement[] = []) =>
    schema.map((key) => key.AttributeName).join(", ");
  const described = indexes.map((gsi) => ` (index ${gsi.IndexName}: ${names(gsi.KeySchema)})`);
  return `${names(keys)}${described.sort().join("")}`;
}
