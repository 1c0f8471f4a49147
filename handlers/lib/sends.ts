import {
  AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { sdkCallOptions } from "./deadline";
import {
  CLIENT_ID_ATTRIBUTE,
  HISTORY_EXPIRY_ATTRIBUTE,
  HISTORY_ID_KEY,
  HISTORY_ROOM_KEY,
  HistoryStore,
  MESSAGE_ID_ATTRIBUTE,
  SEQ_ATTRIBUTE,
  seqKey,
} from "./history-store";

/**
 * Idempotent sends: one `c#<clientId>` item per `clientId` in the room's partition of the
 * history table, kept exactly as long as the history. A send first claims its `clientId` with a
 * conditional PutItem that records the room's latest `seq` and the sender's deadline, then
 * stores the message, then writes the message's `seq` and id into the claim. A second send of
 * the same `clientId` finds the claim:
 *
 * - with a `seq`: the message was stored; the sender is told so again, nothing is broadcast.
 * - without one, before the first sender's deadline: the first send is still under way.
 * - without one, after it: the first send stopped between the claim and the end. The messages
 *   after the recorded `seq` that carry the `clientId` say whether it got as far as storing
 *   (then that message is the answer) or not (then the claim is taken over and the message
 *   stored now): nothing is lost, nothing is stored twice.
 */

const CLAIM_PREFIX = "c#";
/** Epoch ms after which a claim without a `seq` belongs to nobody. */
const UNTIL_ATTRIBUTE = "until";
/** The room's latest `seq` when the claim was made: the message, if stored, comes after it. */
const AFTER_ATTRIBUTE = "after";

/** How long a send with no deadline of its own (tests, local scripts) holds its claim. */
const DEFAULT_CLAIM_MS = 30_000;

/** A stored message, as an ack names it. */
export interface SentMessage {
  seq: number;
  id: string;
}

export type Claim =
  /**
   * The `clientId` is this send's: store the message (the room's latest `seq` was `after` when
   * the claim was made), then `settle()`; or `release()` it when the message was not stored.
   */
  | { outcome: "claimed"; after: number; release: () => Promise<void> }
  /** Stored before: ack it again. */
  | { outcome: "duplicate"; message: SentMessage }
  /** Another send of the same `clientId` is still under way. */
  | { outcome: "pending" };

export class SendLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly history: HistoryStore,
  ) {}

  /**
   * Claims `clientId` in `room` for a send that must be done by `deadline` (epoch ms), or says
   * what became of an earlier send of it.
   */
  async claim(
    room: string,
    clientId: string,
    { deadline, now = Date.now() }: { deadline?: number; now?: number } = {},
  ): Promise<Claim> {
    const until = deadline ?? now + DEFAULT_CLAIM_MS;
    const after = await this.history.latestSeq(room, { deadline });
    if (await this.writeClaim(room, clientId, undefined, { until, after, now, deadline })) {
      return this.claimed(room, clientId, until, after);
    }
    const earlier = await this.read(room, clientId, deadline);
    // Expired (TTL deletes late) or gone meanwhile: a new message, claimed over the old record.
    if (!earlier || earlier.expiresAt * 1000 <= now) {
      return this.takeOver(room, clientId, earlier, { until, after, now, deadline });
    }
    if (earlier.sent) return { outcome: "duplicate", message: earlier.sent };
    if (earlier.until > now) return { outcome: "pending" };
    // The earlier send stopped. Did it store the message before it did?
    const stored = await this.find(room, clientId, earlier.after, deadline);
    if (stored) {
      await this.settle(room, clientId, stored, deadline);
      return { outcome: "duplicate", message: stored };
    }
    return this.takeOver(room, clientId, earlier, { until, after, now, deadline });
  }

  /** Records the stored message in its claim: later sends of `clientId` are duplicates. */
  async settle(room: string, clientId: string, message: SentMessage, deadline?: number) {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(room, clientId),
        UpdateExpression: "SET #seq = :seq, #messageId = :messageId REMOVE #until",
        ExpressionAttributeNames: {
          "#seq": SEQ_ATTRIBUTE,
          "#messageId": MESSAGE_ID_ATTRIBUTE,
          "#until": UNTIL_ATTRIBUTE,
        },
        ExpressionAttributeValues: {
          ":seq": { N: String(message.seq) },
          ":messageId": { S: message.id },
        },
      }),
      sdkCallOptions(deadline),
    );
  }

  /** A claim held until `until`, which `release()` gives up at once (the message was not stored). */
  private claimed(room: string, clientId: string, until: number, after: number): Claim {
    const release = async () => {
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.key(room, clientId),
            UpdateExpression: "SET #until = :zero",
            ConditionExpression: "#until = :until AND attribute_not_exists(#seq)",
            ExpressionAttributeNames: { "#until": UNTIL_ATTRIBUTE, "#seq": SEQ_ATTRIBUTE },
            ExpressionAttributeValues: { ":zero": { N: "0" }, ":until": { N: String(until) } },
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    };
    return { outcome: "claimed", after, release };
  }

  /**
   * Makes `earlier` (a stopped send's claim, or none) this send's, on the condition that no
   * other send took it over first: that one then decides, and this send is told it is pending.
   */
  private async takeOver(
    room: string,
    clientId: string,
    earlier: ClaimRecord | undefined,
    options: { until: number; after: number; now: number; deadline?: number },
  ): Promise<Claim> {
    return (await this.writeClaim(room, clientId, earlier, options))
      ? this.claimed(room, clientId, options.until, options.after)
      : { outcome: "pending" };
  }

  /**
   * Writes this send's claim over `earlier` (or where there is none) if it is still as read:
   * false when another send changed it first.
   */
  private async writeClaim(
    room: string,
    clientId: string,
    earlier: ClaimRecord | undefined,
    options: { until: number; after: number; now: number; deadline?: number },
  ): Promise<boolean> {
    const { until, after, now, deadline } = options;
    const [condition, values]: [string, Record<string, AttributeValue>] = earlier
      ? [
          earlier.sent ? "#seq = :oldSeq" : "attribute_not_exists(#seq) AND #until = :oldUntil",
          earlier.sent
            ? { ":oldSeq": { N: String(earlier.sent.seq) } }
            : { ":oldUntil": { N: String(earlier.until) } },
        ]
      : ["attribute_not_exists(#id)", {}];
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(room, clientId),
            [UNTIL_ATTRIBUTE]: { N: String(until) },
            [AFTER_ATTRIBUTE]: { N: String(after) },
            [HISTORY_EXPIRY_ATTRIBUTE]: { N: String(this.history.expiry(now)) },
          },
          ConditionExpression: condition,
          ExpressionAttributeNames: {
            ...(earlier ? { "#seq": SEQ_ATTRIBUTE } : { "#id": HISTORY_ID_KEY }),
            ...(earlier && !earlier.sent ? { "#until": UNTIL_ATTRIBUTE } : {}),
          },
          ExpressionAttributeValues: Object.keys(values).length > 0 ? values : undefined,
        }),
        sdkCallOptions(deadline),
      );
      return true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return false;
    }
  }

  /** The claim of `clientId` in `room`, read consistently. */
  private async read(
    room: string,
    clientId: string,
    deadline?: number,
  ): Promise<ClaimRecord | undefined> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#room = :room AND #id = :id",
        ExpressionAttributeNames: { "#room": HISTORY_ROOM_KEY, "#id": HISTORY_ID_KEY },
        ExpressionAttributeValues: {
          ":room": { S: room },
          ":id": { S: CLAIM_PREFIX + clientId },
        },
        ConsistentRead: true,
      }),
      sdkCallOptions(deadline),
    );
    const item = Items?.[0];
    if (!item) return undefined;
    const seq = Number(item[SEQ_ATTRIBUTE]?.N);
    const id = item[MESSAGE_ID_ATTRIBUTE]?.S;
    return {
      sent: Number.isSafeInteger(seq) && id !== undefined ? { seq, id } : undefined,
      until: Number(item[UNTIL_ATTRIBUTE]?.N ?? 0),
      after: Number(item[AFTER_ATTRIBUTE]?.N ?? 0),
      expiresAt: Number(item[HISTORY_EXPIRY_ATTRIBUTE]?.N ?? 0),
    };
  }

  /** The message stored with `clientId` after `after`, if any: the rare path after a crash. */
  private async find(
    room: string,
    clientId: string,
    after: number,
    deadline?: number,
  ): Promise<SentMessage | undefined> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#room = :room AND #id BETWEEN :from AND :last",
          FilterExpression: "#clientId = :clientId",
          ExpressionAttributeNames: {
            "#room": HISTORY_ROOM_KEY,
            "#id": HISTORY_ID_KEY,
            "#clientId": CLIENT_ID_ATTRIBUTE,
            "#seq": SEQ_ATTRIBUTE,
            "#messageId": MESSAGE_ID_ATTRIBUTE,
          },
          ExpressionAttributeValues: {
            ":room": { S: room },
            ":from": { S: seqKey(after + 1) },
            ":last": { S: seqKey(Number.MAX_SAFE_INTEGER) },
            ":clientId": { S: clientId },
          },
          ProjectionExpression: "#seq, #messageId",
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
        sdkCallOptions(deadline),
      );
      const item = page.Items?.[0];
      if (item) {
        return { seq: Number(item[SEQ_ATTRIBUTE]?.N), id: item[MESSAGE_ID_ATTRIBUTE]?.S ?? "" };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  private key(room: string, clientId: string): Record<string, AttributeValue> {
    return {
      [HISTORY_ROOM_KEY]: { S: room },
      [HISTORY_ID_KEY]: { S: CLAIM_PREFIX + clientId },
    };
  }
}

interface ClaimRecord {
  sent?: SentMessage;
  until: number;
  after: number;
  expiresAt: number;
}
