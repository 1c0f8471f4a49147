import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { AddressInfo } from "net";
import { CONNECTION_KEY } from "../../handlers/lib/connection-store";
import { Server } from "http";

// dynalite has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (options: Record<string, unknown>) => Server = require("dynalite");

export const TEST_REGION = "us-east-1";
export const TEST_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/** A real DynamoDB (dynalite, in memory) on a free loopback port. */
export class TestDynamo {
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    readonly client: DynamoDBClient,
  ) {}

  static async start(): Promise<TestDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new DynamoDBClient({ endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });
    return new TestDynamo(server, endpoint, client);
  }

  /** Creates a connections table with the key schema the component declares. */
  async createConnectionsTable(tableName: string): Promise<void> {
    await this.client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: CONNECTION_KEY, AttributeType: "S" }],
        KeySchema: [{ AttributeName: CONNECTION_KEY, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  }

  /** Seeds connection records directly, bypassing the handlers. */
  async putConnections(tableName: string, records: { id: string; expiresAt: number }[]): Promise<void> {
    for (let i = 0; i < records.length; i += 25) {
      await this.client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [tableName]: records.slice(i, i + 25).map(({ id, expiresAt }) => ({
              PutRequest: { Item: { [CONNECTION_KEY]: { S: id }, expiresAt: { N: String(expiresAt) } } },
            })),
          },
        }),
      );
    }
  }

  async items(tableName: string): Promise<Record<string, string>[]> {
    const page = await this.client.send(new ScanCommand({ TableName: tableName }));
    return (page.Items ?? []).map((item) =>
      Object.fromEntries(Object.entries(item).map(([key, value]) => [key, value.S ?? value.N ?? ""])),
    );
  }

  async ids(tableName: string): Promise<string[]> {
    return (await this.items(tableName)).map((item) => item[CONNECTION_KEY]).sort();
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
