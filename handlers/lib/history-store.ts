import {
  AttributeValue,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  QueryCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { sdkCallOptions } from "./deadline";
import { timePrefix } from "./message-id";

/** The history table's keys: a room's messages, in the order of their time-sorted ids. */
export const HISTORY_ROOM_KEY = "room";
export const HISTORY_ID_KEY = "id";
/** Epoch seconds after which DynamoDB's TTL deletes a message (eventually). */
export const HISTORY_EXPIRY_ATTRIBUTE = "expiresAt";
/** The message's chat.v1 frame, exactly as it was broadcast. */
const FRAME_ATTRIBUTE = "frame";

/** What one stored message is made of. */
export interface StoredMessage {
  room: string;
  /** The message's id (handlers/lib/message-id.ts): sorted by time. */
  id: string;
  /** Epoch ms the message was sent. */
  sentAtMs: number;
  /** The `{"type":"message",...}` frame, replayed as it was sent. */
  frame: string;
}

/**
 * The history table: one item per message, written once, and kept for the retention the chat is
 * configured with. Reads go by the current retention, not by DynamoDB's TTL, which deletes late.
 */
export class HistoryStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly retentionSeconds: number,
  ) {}

  /** Keeps one message: one PutItem, given up at `deadline` (epoch ms; the invocation's). */
  async add(message: StoredMessage, deadline?: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          [HISTORY_ROOM_KEY]: { S: message.room },
          [HISTORY_ID_KEY]: { S: message.id },
          [FRAME_ATTRIBUTE]: { S: message.frame },
          [HISTORY_EXPIRY_ATTRIBUTE]: {
            N: String(Math.ceil(message.sentAtMs / 1000) + this.retentionSeconds),
          },
        },
      }),
      sdkCallOptions(deadline),
    );
  }

  /**
   * The frames of `room`'s `limit` most recent messages sent within the retention, oldest first.
   * Reads newest first, page by page, until it has `limit` or the room's history ends; reads are
   * consistent, so a message a client has just been sent is there when it asks.
   */
  async recent(
    room: string,
    limit: number,
    { deadline, now = Date.now() }: { deadline?: number; now?: number } = {},
  ): Promise<string[]> {
    const since = timePrefix(now - this.retentionSeconds * 1000);
    const frames: string[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#room = :room AND #id > :since",
          ExpressionAttributeNames: {
            "#room": HISTORY_ROOM_KEY,
            "#id": HISTORY_ID_KEY,
            "#frame": FRAME_ATTRIBUTE,
          },
          ExpressionAttributeValues: { ":room": { S: room }, ":since": { S: since } },
          ProjectionExpression: "#frame",
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: limit - frames.length,
          ExclusiveStartKey: startKey,
        }),
        sdkCallOptions(deadline),
      );
      for (const item of page.Items ?? []) {
        const frame = item[FRAME_ATTRIBUTE]?.S;
        if (frame !== undefined) frames.push(frame);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && frames.length < limit);
    return frames.reverse();
  }
}
