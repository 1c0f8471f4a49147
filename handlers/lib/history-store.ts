import {
  AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  QueryCommandOutput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { sdkCallOptions } from "./deadline";

/**
 * The history table: each room is one partition (hash key `room`) whose items are told apart by
 * their range key `id`:
 *
 * - `s#<seq>`, one per message, `seq` zero-padded so that keys sort as numbers: the message's
 *   frame, public id, time and (if any) `clientId`. Writing it, on the condition that it does not
 *   exist yet, is what gives the message its `seq`: two containers that pick the same number
 *   cannot both succeed, and a number is only tried once the one before it exists, so the
 *   sequence has no gaps without a transaction (which dynalite, local mode's DynamoDB, refuses).
 * - `s~`, the room's head: the highest `seq` known to be taken. It outlives the messages, so a
 *   room whose messages have all expired still continues its sequence instead of restarting it.
 *   It sorts after every `s#` key, so one Query reads the head and the newest message together.
 *   With a retention of 0 no message is kept, and the head alone is the room's counter.
 * - `c#<clientId>`: a sender's idempotency record (handlers/lib/sends.ts).
 */

/** The history table's keys: a room's partition, and the item within it. */
export const HISTORY_ROOM_KEY = "room";
export const HISTORY_ID_KEY = "id";
/** Epoch seconds after which DynamoDB's TTL deletes an item (eventually). */
export const HISTORY_EXPIRY_ATTRIBUTE = "expiresAt";
/** The message's chat.v1 frame, exactly as it was broadcast. */
const FRAME_ATTRIBUTE = "frame";
/** The message's place in its room: a Number. */
export const SEQ_ATTRIBUTE = "seq";
/** The message's public id (handlers/lib/message-id.ts). */
export const MESSAGE_ID_ATTRIBUTE = "messageId";
/** Epoch ms the message was sent: reads filter by the current retention with it. */
const SENT_AT_ATTRIBUTE = "sentAt";
/** The `clientId` the sender gave the message, if any. */
export const CLIENT_ID_ATTRIBUTE = "clientId";

/** Digits of a padded `seq`: every safe integer fits. */
const SEQ_DIGITS = String(Number.MAX_SAFE_INTEGER).length;
const SEQ_PREFIX = "s#";
/** The room's head: sorts after every `s#` key ("~" comes after "#" and every digit). */
export const HEAD_KEY = "s~";
const FIRST_SEQ_KEY = seqKey(0);
const LAST_SEQ_KEY = seqKey(Number.MAX_SAFE_INTEGER);

// A room's head is kept this long after its last message expires (or, with no history, after
// its last message): a room silent for longer starts its sequence over at 1.
export const HEAD_KEPT_SECONDS = 90 * 24 * 60 * 60;
// Each conflict means another message took the number: a sender gives up after this many in a
// row (or at its deadline), which only a room far past its write ceiling reaches.
const MAX_SEQUENCE_ATTEMPTS = 100;
// Numbers tried one after another, after a lost race, before the latest is read again.
const READ_AFTER_LOST_RACES = 2;

/** The range key of message `seq`. */
export function seqKey(seq: number): string {
  return SEQ_PREFIX + String(seq).padStart(SEQ_DIGITS, "0");
}

/** What one message is made of, before it has a place in its room. */
export interface NewMessage {
  room: string;
  /** The message's public id (handlers/lib/message-id.ts). */
  id: string;
  /** Epoch ms the message was sent. */
  sentAtMs: number;
  /** The sender's idempotency key, if it gave one. */
  clientId?: string;
  /** The `{"type":"message",...}` frame carrying `seq`, replayed as it was sent. */
  frame: (seq: number) => string;
}

/** The messages a `history` request gets, and what it can say about what it missed. */
export interface HistoryPage {
  /** Frames, oldest first. */
  frames: string[];
  /** The `seq` of the first frame, if any. */
  firstSeq?: number;
  /** The room's latest `seq` (0: no message yet). */
  latestSeq: number;
}

/** Epoch ms and a deadline, as every read takes them. */
interface ReadOptions {
  deadline?: number;
  now?: number;
}

/**
 * A room's messages, in the order of their `seq`, kept for the retention the chat is configured
 * with. Reads go by the current retention, not by DynamoDB's TTL, which deletes late (and never,
 * in dynalite). With a retention of 0 nothing but each room's head (its counter) is written.
 */
export class HistoryStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    readonly retentionSeconds: number,
    private readonly pageSize?: number,
  ) {}

  /** Whether messages are kept (a retention over 0), and so can be replayed and de-duplicated. */
  get keepsMessages(): boolean {
    return this.retentionSeconds > 0;
  }

  /**
   * Gives `message` the room's next `seq` and, with history kept, stores it under that number:
   * one consistent Query for the latest number, one conditional PutItem, and one more PutItem
   * (every second time, a Query too) per number another container took first. Without history, one counter UpdateItem.
   * Resolves to the `seq`; the head is moved by `advanceHead`, off the sender's path.
   * `latestSeq`, when the caller has just read it, saves the first Query.
   */
  async append(message: NewMessage, deadline?: number, latestSeq?: number): Promise<number> {
    if (!this.keepsMessages) return this.count(message.room, message.sentAtMs, deadline);
    let latest = latestSeq ?? (await this.latestSeq(message.room, { deadline }));
    for (let attempt = 1; ; attempt++) {
      const seq = latest + 1;
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: this.messageItem(message, seq),
            ConditionExpression: "attribute_not_exists(#id)",
            ExpressionAttributeNames: { "#id": HISTORY_ID_KEY },
          }),
          sdkCallOptions(deadline),
        );
        return seq;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        if (attempt >= MAX_SEQUENCE_ATTEMPTS) {
          throw new SequenceContention(message.room, attempt);
        }
        // `seq` is taken, so `seq + 1` is the next number that can be free: try it at once, one
        // round trip where the container that took `seq` needs two (a read, then its write) for
        // its next message, so a sender that lost a race is the first in line for the next. Only
        // after several lost in a row, read how far the room has got, and back off a little.
        if (attempt % READ_AFTER_LOST_RACES !== 0) {
          latest = seq;
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
        latest = Math.max(seq, await this.latestSeq(message.room, { deadline }));
      }
    }
  }

  /**
   * Records `seq` as taken in the room's head, unless the head already holds a later one: one
   * small conditional UpdateItem per message. A head left behind (its container stopped in
   * between) only matters once every message after it has expired as well.
   */
  async advanceHead(room: string, seq: number, sentAtMs: number, deadline?: number) {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [HISTORY_ROOM_KEY]: { S: room }, [HISTORY_ID_KEY]: { S: HEAD_KEY } },
          UpdateExpression: "SET #seq = :seq, #expires = :expires",
          ConditionExpression: "attribute_not_exists(#seq) OR #seq < :seq",
          ExpressionAttributeNames: { "#seq": SEQ_ATTRIBUTE, "#expires": HISTORY_EXPIRY_ATTRIBUTE },
          ExpressionAttributeValues: {
            ":seq": { N: String(seq) },
            ":expires": { N: String(this.headExpiry(sentAtMs)) },
          },
        }),
        sdkCallOptions(deadline),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** The room's latest `seq`, 0 before its first message: one consistent Query of two items. */
  async latestSeq(room: string, { deadline }: ReadOptions = {}): Promise<number> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#room = :room AND #id BETWEEN :first AND :head",
        ExpressionAttributeNames: {
          "#room": HISTORY_ROOM_KEY,
          "#id": HISTORY_ID_KEY,
          "#seq": SEQ_ATTRIBUTE,
        },
        ExpressionAttributeValues: {
          ":room": { S: room },
          ":first": { S: FIRST_SEQ_KEY },
          ":head": { S: HEAD_KEY },
        },
        ProjectionExpression: "#seq",
        ScanIndexForward: false,
        ConsistentRead: true,
        // The head and the newest message: the larger is the latest.
        Limit: 2,
      }),
      sdkCallOptions(deadline),
    );
    return Math.max(0, ...(page.Items ?? []).map((item) => Number(item[SEQ_ATTRIBUTE]?.N ?? 0)));
  }

  /**
   * The frames of `room`'s `limit` most recent messages sent within the retention, oldest first,
   * and the room's latest `seq`. Reads newest first, page by page, until it has `limit` or the
   * retention ends; reads are consistent, so a message a client has just been sent is there.
   */
  async recent(room: string, limit: number, options: ReadOptions = {}): Promise<HistoryPage> {
    const latestSeq = this.latestSeq(room, options);
    if (!this.keepsMessages) return { frames: [], latestSeq: await latestSeq };
    const cutoff = this.cutoff(options.now);
    const kept: Array<{ seq: number; frame: string }> = [];
    for await (const item of this.messages(room, FIRST_SEQ_KEY, false, limit, options)) {
      // Numbers are taken in the order messages arrive: the rest are older still.
      if (item.sentAtMs <= cutoff) break;
      kept.push(item);
      if (kept.length >= limit) break;
    }
    kept.reverse();
    return historyPage(kept, await latestSeq);
  }

  /**
   * The frames of `room`'s messages with a `seq` over `since` and sent within the retention,
   * oldest first, at most `limit`, and the room's latest `seq`: one Query from `since` on.
   */
  async since(
    room: string,
    since: number,
    limit: number,
    options: ReadOptions = {},
  ): Promise<HistoryPage> {
    const latestSeq = this.latestSeq(room, options);
    // No number comes after the largest: nothing to read (and no key range to read it from).
    if (!this.keepsMessages || since >= Number.MAX_SAFE_INTEGER) {
      return { frames: [], latestSeq: await latestSeq };
    }
    const cutoff = this.cutoff(options.now);
    const kept: Array<{ seq: number; frame: string }> = [];
    const from = seqKey(since + 1);
    for await (const item of this.messages(room, from, true, limit, options)) {
      // Oldest first: messages past the retention come before the rest, and are left out.
      if (item.sentAtMs <= cutoff) continue;
      kept.push(item);
      if (kept.length >= limit) break;
    }
    return historyPage(kept, await latestSeq);
  }

  /** The stored message items from `from` on (forward) or down from the newest (backward). */
  private async *messages(
    room: string,
    from: string,
    forward: boolean,
    limit: number,
    { deadline }: ReadOptions,
  ): AsyncGenerator<{ seq: number; frame: string; sentAtMs: number }> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#room = :room AND #id BETWEEN :from AND :last",
          ExpressionAttributeNames: {
            "#room": HISTORY_ROOM_KEY,
            "#id": HISTORY_ID_KEY,
            "#frame": FRAME_ATTRIBUTE,
            "#seq": SEQ_ATTRIBUTE,
            "#sentAt": SENT_AT_ATTRIBUTE,
          },
          ExpressionAttributeValues: {
            ":room": { S: room },
            ":from": { S: from },
            ":last": { S: LAST_SEQ_KEY },
          },
          ProjectionExpression: "#frame, #seq, #sentAt",
          ScanIndexForward: forward,
          ConsistentRead: true,
          Limit: this.pageSize ?? limit,
          ExclusiveStartKey: startKey,
        }),
        sdkCallOptions(deadline),
      );
      for (const item of page.Items ?? []) {
        const frame = item[FRAME_ATTRIBUTE]?.S;
        const seq = Number(item[SEQ_ATTRIBUTE]?.N);
        const sentAtMs = Number(item[SENT_AT_ATTRIBUTE]?.N);
        if (frame !== undefined && Number.isSafeInteger(seq)) yield { seq, frame, sentAtMs };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** With no history: the head as a counter, one UpdateItem that adds 1 and returns the sum. */
  private async count(room: string, sentAtMs: number, deadline?: number): Promise<number> {
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [HISTORY_ROOM_KEY]: { S: room }, [HISTORY_ID_KEY]: { S: HEAD_KEY } },
        UpdateExpression: "ADD #seq :one SET #expires = :expires",
        ExpressionAttributeNames: { "#seq": SEQ_ATTRIBUTE, "#expires": HISTORY_EXPIRY_ATTRIBUTE },
        ExpressionAttributeValues: {
          ":one": { N: "1" },
          ":expires": { N: String(this.headExpiry(sentAtMs)) },
        },
        ReturnValues: "UPDATED_NEW",
      }),
      sdkCallOptions(deadline),
    );
    return Number(Attributes?.[SEQ_ATTRIBUTE]?.N);
  }

  private messageItem(message: NewMessage, seq: number): Record<string, AttributeValue> {
    return {
      [HISTORY_ROOM_KEY]: { S: message.room },
      [HISTORY_ID_KEY]: { S: seqKey(seq) },
      [SEQ_ATTRIBUTE]: { N: String(seq) },
      [MESSAGE_ID_ATTRIBUTE]: { S: message.id },
      [SENT_AT_ATTRIBUTE]: { N: String(message.sentAtMs) },
      [FRAME_ATTRIBUTE]: { S: message.frame(seq) },
      ...(message.clientId ? { [CLIENT_ID_ATTRIBUTE]: { S: message.clientId } } : {}),
      [HISTORY_EXPIRY_ATTRIBUTE]: { N: String(this.expiry(message.sentAtMs)) },
    };
  }

  /** Epoch seconds at which something written at `atMs` leaves the history. */
  expiry(atMs: number): number {
    return Math.ceil(atMs / 1000) + this.retentionSeconds;
  }

  private headExpiry(atMs: number): number {
    return this.expiry(atMs) + HEAD_KEPT_SECONDS;
  }

  /** Epoch ms at or before which a message is past the retention. */
  private cutoff(now = Date.now()): number {
    return now - this.retentionSeconds * 1000;
  }
}

function historyPage(kept: Array<{ seq: number; frame: string }>, latestSeq: number): HistoryPage {
  const frames = kept.map((message) => message.frame);
  return kept.length > 0 ? { frames, firstSeq: kept[0].seq, latestSeq } : { frames, latestSeq };
}

/** A room so busy that a sender lost the race for a number too many times in a row. */
export class SequenceContention extends Error {
  constructor(room: string, attempts: number) {
    super(`Room ${room}: another message took the next number ${attempts} times in a row`);
    this.name = "SequenceContention";
  }
}
