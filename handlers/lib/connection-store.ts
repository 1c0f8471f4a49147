import {
  AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  QueryCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { sdkCallOptions } from "./deadline";
import { INTEGRATION_TIMEOUT_MS } from "./limits";

/** The table's hash key (a string). The component and the local table declare it from here. */
export const CONNECTION_KEY = "connectionId";
/** Epoch seconds after which a record is dead; DynamoDB TTL deletes it (eventually). */
export const EXPIRY_ATTRIBUTE = "expiresAt";
/** The room a connection joined: the partition key of the room index. */
export const ROOM_ATTRIBUTE = "room";
const CONNECTED_AT_ATTRIBUTE = "connectedAt";
/** Epoch ms when `$connect` wrote the record, by the writing Lambda's clock. */
const RECORDED_AT_ATTRIBUTE = "recordedAt";
/** The message rate limit's bucket (handlers/lib/rate-limit.ts); no other code writes it. */
export const RATE_ATTRIBUTE = "rateFullAt";
const NAME_ATTRIBUTE = "name";
/** The structured subprotocol's name, as clients ask for it in `Sec-WebSocket-Protocol`. */
export const CHAT_PROTOCOL = "chat.v1";

/** Present (`"chat.v1"`) only on connections that chose the structured subprotocol. */
const PROTOCOL_ATTRIBUTE = "protocol";
/**
 * The room index's sort key: the connection's format, then its id (`chat.v1#R1kmxc2VNjMCFIA=`,
 * `plain#...`), so that a room's chat.v1 members are a range of it.
 */
export const MEMBER_ATTRIBUTE = "member";
const STRUCTURED_MEMBER = `${CHAT_PROTOCOL}#`;
const PLAIN_MEMBER = "plain#";

/**
 * The global secondary index a broadcast reads: partition key `room`, so that one room's members
 * are one Query away and a broadcast costs what its room holds, not what the whole chat holds;
 * sort key `member` (format, then id), so that join and leave notices read only the room's
 * chat.v1 members, and so that DynamoDB has keys to split a very large room on
 * (docs/scaling.md). Only what a broadcast and `who` read is projected.
 */
export const ROOM_INDEX = {
  name: "byRoom",
  hashKey: ROOM_ATTRIBUTE,
  rangeKey: MEMBER_ATTRIBUTE,
  nonKeyAttributes: [EXPIRY_ATTRIBUTE, NAME_ATTRIBUTE, PROTOCOL_ATTRIBUTE],
} as const;

/**
 * How long after `$connect` writes a record a 410 Gone may still mean "not connected yet":
 * API Gateway completes the handshake only once `$connect` returns, and fails it when
 * `$connect` runs past the 29 s integration timeout, so a connection is established (or never
 * will be) at most 29 s after its record was written, whatever ran before `$connect` (an
 * authorizer, a cold start); 1 s more covers the Lambda hosts' clocks. Younger records survive
 * a 410; an older one that gets a 410 is gone for good.
 */
export const GONE_GRACE_MS = INTEGRATION_TIMEOUT_MS + 1_000;

/** What is known about one open connection. */
export interface ConnectionRecord {
  connectionId: string;
  room: string;
  name: string;
  /** True when the client speaks `chat.v1` (JSON frames with a `type`), false for raw text. */
  structured: boolean;
  /** The message rate limit's state, as `get` read it; absent until the first message. */
  rateFullAt?: number;
}

/** One recipient of a broadcast, as the room index holds it. */
export type RoomMember = ConnectionRecord;

/** How one call to the table runs. */
export interface StoreCall {
  /** Epoch ms at which the call, retries included, gives up (`AbortError`): the invocation's. */
  deadline?: number;
  /** The current time, epoch ms (tests set it). */
  now?: number;
}

export interface ConnectionStoreOptions {
  /** Items per Query page; unset reads DynamoDB's full 1 MB pages. */
  pageSize?: number;
}

/** The connections table: one item per open WebSocket connection, indexed by room. */
export class ConnectionStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: ConnectionStoreOptions = {},
  ) {}

  /**
   * Records a connection that expires `ttlSeconds` after it connected, noting when it was
   * written (`now`) for the Gone cleanup (`forgetGone`).
   */
  async add(
    record: ConnectionRecord,
    connectedAtMs: number,
    ttlSeconds: number,
    { deadline, now = Date.now() }: StoreCall = {},
  ): Promise<void> {
    const item: Record<string, AttributeValue> = {
      [CONNECTION_KEY]: { S: record.connectionId },
      [ROOM_ATTRIBUTE]: { S: record.room },
      [NAME_ATTRIBUTE]: { S: record.name },
      [CONNECTED_AT_ATTRIBUTE]: { N: String(connectedAtMs) },
      [RECORDED_AT_ATTRIBUTE]: { N: String(now) },
      [EXPIRY_ATTRIBUTE]: { N: String(Math.floor(connectedAtMs / 1000) + ttlSeconds) },
    };
    if (record.structured) item[PROTOCOL_ATTRIBUTE] = { S: CHAT_PROTOCOL };
    item[MEMBER_ATTRIBUTE] = { S: memberKey(record) };
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: item }),
      sdkCallOptions(deadline),
    );
  }

  /**
   * The record of one connection, read consistently (a sender's own record is always there as
   * soon as its `$connect` has written it). Undefined when there is none, or none alive.
   */
  async get(
    connectionId: string,
    { deadline, now = Date.now() }: StoreCall = {},
  ): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_KEY]: { S: connectionId } },
        ConsistentRead: true,
      }),
      sdkCallOptions(deadline),
    );
    return Item && isAlive(Item, now) ? recordOf(Item) : undefined;
  }

  /**
   * Forgets a connection that @connections answered 410 Gone for, unless its record is younger
   * than `GONE_GRACE_MS`: that client may still be connecting. DynamoDB checks the age in the
   * same request, so the rule holds whichever container deletes. False when the record was
   * kept. A record without a write time (written by an older version) counts as old.
   */
  async forgetGone(
    connectionId: string,
    { deadline, now = Date.now() }: StoreCall = {},
  ): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [CONNECTION_KEY]: { S: connectionId } },
          ConditionExpression: "attribute_not_exists(#recordedAt) OR #recordedAt <= :cutOff",
          ExpressionAttributeNames: { "#recordedAt": RECORDED_AT_ATTRIBUTE },
          ExpressionAttributeValues: { ":cutOff": { N: String(now - GONE_GRACE_MS) } },
        }),
        sdkCallOptions(deadline),
      );
      return true;
    } catch (err) {
      if (err instanceof Error && err.name === "ConditionalCheckFailedException") return false;
      throw err;
    }
  }

  /** Deletes a connection's record; resolves with what it held (undefined when there was none). */
  async remove(
    connectionId: string,
    { deadline }: StoreCall = {},
  ): Promise<ConnectionRecord | undefined> {
    const { Attributes } = await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_KEY]: { S: connectionId } },
        ReturnValues: "ALL_OLD",
      }),
      sdkCallOptions(deadline),
    );
    return Attributes ? recordOf(Attributes) : undefined;
  }

  /**
   * The connections in `room` not yet past their expiry (with `structuredOnly`, its chat.v1
   * members only: a range of the index, so plain members cost nothing to skip), one Query page
   * of the room index at a time. TTL deletion lags by up to days, so expired records are
   * filtered here rather than trusted to be gone. The next page is read while the caller works
   * through the current one. The index is eventually consistent: a connection made a moment ago
   * may be missing. Each member comes with its id and format, and its name unless `names` is
   * false.
   */
  async *roomPages(
    room: string,
    {
      deadline,
      now = Date.now(),
      structuredOnly = false,
      names = true,
    }: StoreCall & { structuredOnly?: boolean; names?: boolean } = {},
  ): AsyncGenerator<RoomMember[]> {
    // Only what the caller reads comes back: a broadcast's pages parse two attributes per member
    // instead of six (the read units are the same, the CPU is not).
    const projection = names ? "#id, #protocol, #name" : "#id, #protocol";
    const query = (startKey?: Record<string, AttributeValue>): Promise<QueryCommandOutput> =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ROOM_INDEX.name,
          KeyConditionExpression: structuredOnly
            ? "#room = :room AND begins_with(#member, :structured)"
            : "#room = :room",
          FilterExpression: "attribute_not_exists(#exp) OR #exp > :now",
          ProjectionExpression: projection,
          ExpressionAttributeNames: {
            "#room": ROOM_ATTRIBUTE,
            "#exp": EXPIRY_ATTRIBUTE,
            "#id": CONNECTION_KEY,
            "#protocol": PROTOCOL_ATTRIBUTE,
            ...(names ? { "#name": NAME_ATTRIBUTE } : {}),
            ...(structuredOnly ? { "#member": MEMBER_ATTRIBUTE } : {}),
          },
          ExpressionAttributeValues: {
            ":room": { S: room },
            ":now": { N: String(Math.floor(now / 1000)) },
            ...(structuredOnly ? { ":structured": { S: STRUCTURED_MEMBER } } : {}),
          },
          ExclusiveStartKey: startKey,
          Limit: this.options.pageSize,
        }),
        sdkCallOptions(deadline),
      );
    let next: Promise<QueryCommandOutput> | undefined = query();
    while (next) {
      const page: QueryCommandOutput = await next;
      next = page.LastEvaluatedKey ? query(page.LastEvaluatedKey) : undefined;
      // Awaited on the next turn; this only keeps a caller that stops early from leaving an
      // unhandled rejection behind.
      next?.catch(() => undefined);
      const members: RoomMember[] = [];
      for (const item of page.Items ?? []) {
        if (!item[CONNECTION_KEY]?.S) continue;
        const member = recordOf(item);
        member.room = room; // not read back: it is the key asked for
        members.push(member);
      }
      yield members;
    }
  }
}

/** The room index's sort key for `record`: its format, then its id. */
export function memberKey(record: { connectionId: string; structured: boolean }): string {
  return `${record.structured ? STRUCTURED_MEMBER : PLAIN_MEMBER}${record.connectionId}`;
}

function isAlive(item: Record<string, AttributeValue>, nowMs: number): boolean {
  const expiresAt = item[EXPIRY_ATTRIBUTE]?.N;
  return expiresAt === undefined || Number(expiresAt) > Math.floor(nowMs / 1000);
}

function recordOf(item: Record<string, AttributeValue>): ConnectionRecord {
  const record: ConnectionRecord = {
    connectionId: item[CONNECTION_KEY]?.S ?? "",
    room: item[ROOM_ATTRIBUTE]?.S ?? "",
    name: item[NAME_ATTRIBUTE]?.S ?? "",
    structured: item[PROTOCOL_ATTRIBUTE]?.S === CHAT_PROTOCOL,
  };
  const rateFullAt = item[RATE_ATTRIBUTE]?.N;
  if (rateFullAt !== undefined) record.rateFullAt = Number(rateFullAt);
  return record;
}
