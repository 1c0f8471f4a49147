import {
  AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  ScanCommandOutput,
} from "@aws-sdk/client-dynamodb";

/** The table's hash key (a string). The component and the local table declare it from here. */
export const CONNECTION_KEY = "connectionId";
/** Epoch seconds after which a record is dead; DynamoDB TTL deletes it (eventually). */
export const EXPIRY_ATTRIBUTE = "expiresAt";
const CONNECTED_AT_ATTRIBUTE = "connectedAt";

export interface ConnectionStoreOptions {
  /** Items per Scan page; unset reads DynamoDB's full 1 MB pages. */
  scanPageSize?: number;
}

/** The connections table: one item per open WebSocket connection. */
export class ConnectionStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: ConnectionStoreOptions = {},
  ) {}

  /** Records a connection that expires `ttlSeconds` after it connected. */
  async add(connectionId: string, connectedAtMs: number, ttlSeconds: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          [CONNECTION_KEY]: { S: connectionId },
          [CONNECTED_AT_ATTRIBUTE]: { N: String(connectedAtMs) },
          [EXPIRY_ATTRIBUTE]: { N: String(Math.floor(connectedAtMs / 1000) + ttlSeconds) },
        },
      }),
    );
  }

  async remove(connectionId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_KEY]: { S: connectionId } },
      }),
    );
  }

  /**
   * The ids of connections not yet past their expiry, one Scan page at a time. TTL deletion
   * lags by up to days, so expired records are filtered here rather than trusted to be gone.
   * The next page is read while the caller works through the current one.
   */
  async *livePages(nowMs: number = Date.now()): AsyncGenerator<string[]> {
    const scan = (startKey?: Record<string, AttributeValue>): Promise<ScanCommandOutput> =>
      this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: "#id",
          FilterExpression: "attribute_not_exists(#exp) OR #exp > :now",
          ExpressionAttributeNames: { "#id": CONNECTION_KEY, "#exp": EXPIRY_ATTRIBUTE },
          ExpressionAttributeValues: { ":now": { N: String(Math.floor(nowMs / 1000)) } },
          ExclusiveStartKey: startKey,
          Limit: this.options.scanPageSize,
        }),
      );
    let next: Promise<ScanCommandOutput> | undefined = scan();
    while (next) {
      const page: ScanCommandOutput = await next;
      next = page.LastEvaluatedKey ? scan(page.LastEvaluatedKey) : undefined;
      // Awaited on the next turn; this only keeps a caller that stops early from leaving an
      // unhandled rejection behind.
      next?.catch(() => undefined);
      const ids: string[] = [];
      for (const item of page.Items ?? []) {
        const id = item[CONNECTION_KEY]?.S;
        if (id) ids.push(id);
      }
      yield ids;
    }
  }
}
