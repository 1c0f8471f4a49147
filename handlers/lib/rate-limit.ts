import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { CONNECTION_KEY, RATE_ATTRIBUTE } from "./connection-store";
import { sdkCallOptions } from "./deadline";

/**
 * The per-connection message rate limit, kept in the connection's own record so that it holds
 * however many Lambda containers serve one client's messages at once.
 *
 * It is a token bucket of `burst` messages refilled at `perSecond`, stored the GCRA way as one
 * number: `rateFullAt`, the epoch millisecond at which the bucket is full again. A message is
 * allowed while the bucket holds a whole token, that is while `rateFullAt - now` is at most
 * `(burst - 1)` intervals, and then moves `rateFullAt` one interval (`1000 / perSecond` ms)
 * later. Every change is a conditional UpdateItem whose condition is the branch it was chosen
 * under, so two containers can never both spend the last token.
 */

export interface RateLimit {
  /** Messages accepted at once from a full bucket. 0: no limit. */
  burst: number;
  /** Tokens added per second. 0: no limit. */
  perSecond: number;
}

type SendOptions = ReturnType<typeof sdkCallOptions>;

export const DEFAULT_RATE_LIMIT: RateLimit = { burst: 10, perSecond: 1 };

export function isRateLimited(limit: RateLimit): boolean {
  return limit.burst > 0 && limit.perSecond > 0;
}

export type RateDecision =
  | { outcome: "allowed" }
  /** The bucket is empty: a token is back in `retryAfterMs`. */
  | { outcome: "limited"; retryAfterMs: number }
  /** The connection has no record (it was never stored, or has been deleted). */
  | { outcome: "unknown" };

// Each attempt reads the record, then writes under a condition; a failed condition means
// another message of the same connection changed the bucket in between. Each round lets at
// least one of them through, so a handful of attempts covers any realistic contention.
const MAX_ATTEMPTS = 4;

/** Takes one message token from a connection's bucket. */
export class MessageRateLimiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    readonly limit: RateLimit,
  ) {
    if (!isRateLimited(limit))
      throw new Error("MessageRateLimiter needs a burst and a rate above 0");
    // Whole milliseconds keep the stored numbers short; rounding up never lets more through.
    this.intervalMs = Math.ceil(1000 / limit.perSecond);
    this.toleranceMs = (limit.burst - 1) * this.intervalMs;
  }

  /**
   * Spends a token for a message sent at `nowMs`, if the bucket has one. `known` is the
   * record's bucket as the caller has just read it consistently (the message route reads the
   * sender's record anyway): the first attempt then needs no read of its own.
   */
  async take(
    connectionId: string,
    nowMs: number,
    known?: { rateFullAt?: number },
    /** Epoch ms at which every call, retries included, gives up: the invocation's. */
    { deadline }: { deadline?: number } = {},
  ): Promise<RateDecision> {
    const call = () => sdkCallOptions(deadline);
    const now = Math.floor(nowMs);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const record =
        attempt === 1 && known
          ? { exists: true, fullAt: known.rateFullAt }
          : await this.read(connectionId, call());
      if (!record.exists) return { outcome: "unknown" };
      const fullAt = record.fullAt;
      if (fullAt !== undefined && fullAt - now > this.toleranceMs) {
        return { outcome: "limited", retryAfterMs: fullAt - this.toleranceMs - now };
      }
      try {
        if (fullAt === undefined || fullAt <= now)
          await this.takeFromFullBucket(connectionId, now, call());
        else await this.takeFromPartBucket(connectionId, now, call());
        return { outcome: "allowed" };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    // Still contended after every attempt: other messages of this connection are taking the
    // tokens right now, so this one can wait an interval.
    return { outcome: "limited", retryAfterMs: this.intervalMs };
  }

  private async read(
    connectionId: string,
    options: SendOptions,
  ): Promise<{ exists: boolean; fullAt?: number }> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_KEY]: { S: connectionId } },
        // The decision must see the last write of any container.
        ConsistentRead: true,
        ProjectionExpression: "#id, #at",
        ExpressionAttributeNames: { "#id": CONNECTION_KEY, "#at": RATE_ATTRIBUTE },
      }),
      options,
    );
    if (!Item) return { exists: false };
    const fullAt = Item[RATE_ATTRIBUTE]?.N;
    return { exists: true, fullAt: fullAt === undefined ? undefined : Number(fullAt) };
  }

  /** The bucket is full (or never used): it now lacks one token. Never creates a record. */
  private takeFromFullBucket(
    connectionId: string,
    now: number,
    options: SendOptions,
  ): Promise<unknown> {
    return this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_KEY]: { S: connectionId } },
        UpdateExpression: "SET #at = :next",
        ConditionExpression: "attribute_exists(#id) AND (attribute_not_exists(#at) OR #at <= :now)",
        ExpressionAttributeNames: { "#id": CONNECTION_KEY, "#at": RATE_ATTRIBUTE },
        ExpressionAttributeValues: {
          ":now": { N: String(now) },
          ":next": { N: String(now + this.intervalMs) },
        },
      }),
      options,
    );
  }

  /** The bucket is partly spent but holds a whole token: one more interval until it is full. */
  private takeFromPartBucket(
    connectionId: string,
    now: number,
    options: SendOptions,
  ): Promise<unknown> {
    return this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_KEY]: { S: connectionId } },
        UpdateExpression: "SET #at = #at + :interval",
        ConditionExpression: "#at > :now AND #at <= :latest",
        ExpressionAttributeNames: { "#at": RATE_ATTRIBUTE },
        ExpressionAttributeValues: {
          ":now": { N: String(now) },
          ":latest": { N: String(now + this.toleranceMs) },
          ":interval": { N: String(this.intervalMs) },
        },
      }),
      options,
    );
  }
}
