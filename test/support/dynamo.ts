import {
  AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import type { LocalChat } from "../../local/chat";
import {
  CHAT_PROTOCOL,
  CONNECTION_KEY,
  EXPIRY_ATTRIBUTE,
  MEMBER_ATTRIBUTE,
  memberKey,
  ROOM_ATTRIBUTE,
} from "../../handlers/lib/connection-store";
import { DEFAULT_ROOM } from "../../handlers/lib/join-request";
import { CONNECTIONS_TABLE, HISTORY_TABLE } from "../../handlers/lib/tables";
import { ensureTable, LOCAL_AWS_ENV, LocalDynamo, startLocalDynamo } from "../../local/dynamo";
import { DynamoBackend, dynamoLocalEndpoint } from "./dynamo-local";

export { DynamoBackend, dynamoBackends } from "./dynamo-local";

export const TEST_REGION = LOCAL_AWS_ENV.AWS_REGION;
export const TEST_CREDENTIALS = {
  accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID,
  secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY,
};

export interface SeededConnection {
  id: string;
  expiresAt: number;
  room?: string;
  name?: string;
  structured?: boolean;
  /** When `$connect` would have written it (epoch ms); left out, none, as in an old record. */
  recordedAt?: number;
}

function connectionItem(record: SeededConnection): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    [CONNECTION_KEY]: { S: record.id },
    [EXPIRY_ATTRIBUTE]: { N: String(record.expiresAt) },
    [ROOM_ATTRIBUTE]: { S: record.room ?? DEFAULT_ROOM },
    name: { S: record.name ?? "anonymous" },
  };
  if (record.structured) item.protocol = { S: CHAT_PROTOCOL };
  if (record.recordedAt !== undefined) item.recordedAt = { N: String(record.recordedAt) };
  item[MEMBER_ATTRIBUTE] = {
    S: memberKey({ connectionId: record.id, structured: record.structured ?? false }),
  };
  return item;
}

// One DynamoDB Local serves the whole run: every table gets a name no other test uses.
let tableCount = 0;

/**
 * A real DynamoDB on a loopback port, in memory, and a client for it: a dynalite of its own, or
 * this run's shared DynamoDB Local (test/support/dynamo-local.ts).
 */
export class TestDynamo {
  private constructor(
    private readonly dynamo: LocalDynamo,
    readonly client: DynamoDBClient,
  ) {}

  static async start(backend: DynamoBackend = "dynalite"): Promise<TestDynamo> {
    const dynamo =
      backend === "dynalite"
        ? await startLocalDynamo()
        : // Shared: stopping a TestDynamo leaves it running for the next suite.
          { endpoint: await dynamoLocalEndpoint(), close: () => Promise.resolve() };
    return new TestDynamo(dynamo, TestDynamo.newClient(dynamo.endpoint));
  }

  /** A client of its own (its own connection pool, as another container's); destroy it after. */
  static newClient(endpoint: string): DynamoDBClient {
    return new DynamoDBClient({ endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });
  }

  get endpoint(): string {
    return this.dynamo.endpoint;
  }

  /** Creates a connections table, named `<prefix>-<n>`, with the keys the component declares. */
  async createConnectionsTable(prefix = "connections"): Promise<string> {
    const tableName = `${prefix}-${++tableCount}`;
    await ensureTable(this.endpoint, tableName, CONNECTIONS_TABLE);
    return tableName;
  }

  /** Creates a history table, named `<prefix>-<n>`, with the keys the component declares. */
  async createHistoryTable(prefix = "history"): Promise<string> {
    const tableName = `${prefix}-${++tableCount}`;
    await ensureTable(this.endpoint, tableName, HISTORY_TABLE);
    return tableName;
  }

  /**
   * Seeds connection records directly, bypassing the handlers: in the default room, named
   * "anonymous", plain, unless a record says otherwise.
   */
  async putConnections(tableName: string, records: SeededConnection[]): Promise<void> {
    for (let i = 0; i < records.length; i += 25) {
      await this.client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [tableName]: records.slice(i, i + 25).map((record) => ({
              PutRequest: { Item: connectionItem(record) },
            })),
          },
        }),
      );
    }
  }

  async items(tableName: string): Promise<Record<string, string>[]> {
    const page = await this.client.send(new ScanCommand({ TableName: tableName }));
    return (page.Items ?? []).map((item) =>
      Object.fromEntries(
        Object.entries(item).map(([key, value]) => [key, value.S ?? value.N ?? ""]),
      ),
    );
  }

  /** Deletes one item, as TTL would: `key` holds the table's string keys. */
  async deleteItem(tableName: string, key: Record<string, string>): Promise<void> {
    const Key = Object.fromEntries(
      Object.entries(key).map(([name, value]) => [name, { S: value }]),
    );
    await this.client.send(new DeleteItemCommand({ TableName: tableName, Key }));
  }

  async ids(tableName: string): Promise<string[]> {
    return (await this.items(tableName)).map((item) => item[CONNECTION_KEY]).sort();
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await this.dynamo.close();
  }
}

/**
 * A client for the DynamoDB a local chat's functions use, as they see it: DynamoDB Local keeps
 * one database per access key and region.
 */
export function chatDynamoClient(chat: LocalChat): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: chat.dynamoEndpoint,
    region: chat.environment.AWS_REGION,
    credentials: {
      accessKeyId: chat.environment.AWS_ACCESS_KEY_ID,
      secretAccessKey: chat.environment.AWS_SECRET_ACCESS_KEY,
    },
  });
}

/** The `dynamoEndpoint` option that runs a local chat on `backend` (dynalite: its own). */
export async function localChatDynamo(
  backend: DynamoBackend,
): Promise<{ dynamoEndpoint?: string }> {
  return backend === "dynalite" ? {} : { dynamoEndpoint: await dynamoLocalEndpoint() };
}

/**
 * Closes a local chat and, on the shared DynamoDB Local, deletes its tables: local mode's table
 * names are fixed, and the next chat must start empty.
 */
export async function closeLocalChat(chat: LocalChat, backend: DynamoBackend): Promise<void> {
  await chat.close();
  if (backend === "dynalite") return;
  const client = chatDynamoClient(chat);
  try {
    for (const table of [chat.environment.TABLE_NAME, chat.environment.HISTORY_TABLE_NAME]) {
      await client.send(new DeleteTableCommand({ TableName: table }));
    }
  } finally {
    client.destroy();
  }
}
