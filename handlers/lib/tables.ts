import {
  CONNECTION_KEY,
  EXPIRY_ATTRIBUTE as CONNECTION_EXPIRY,
  ROOM_INDEX,
} from "./connection-store";
import { HISTORY_EXPIRY_ATTRIBUTE, HISTORY_ID_KEY, HISTORY_ROOM_KEY } from "./history-store";

/**
 * The shape of each DynamoDB table the chat uses: keys, index and TTL attribute. The component
 * declares its tables from here and local mode creates the same ones, so a Query that works
 * locally works on AWS. Every key attribute is a string.
 */
export interface TableSchema {
  hashKey: string;
  rangeKey?: string;
  /** A global secondary index, projecting the keys and `nonKeyAttributes`. */
  index?: {
    name: string;
    hashKey: string;
    rangeKey?: string;
    nonKeyAttributes: readonly string[];
  };
  /** The Number attribute (epoch seconds) DynamoDB's TTL deletes items by. */
  ttlAttribute: string;
}

/** One item per open connection, queried by room through `byRoom`. */
export const CONNECTIONS_TABLE: TableSchema = {
  hashKey: CONNECTION_KEY,
  index: ROOM_INDEX,
  ttlAttribute: CONNECTION_EXPIRY,
};

/** One item per message, a room's history read newest first by its time-sorted ids. */
export const HISTORY_TABLE: TableSchema = {
  hashKey: HISTORY_ROOM_KEY,
  rangeKey: HISTORY_ID_KEY,
  ttlAttribute: HISTORY_EXPIRY_ATTRIBUTE,
};

/** Every attribute a key of `schema` (table or index) uses, once each. */
export function keyAttributes(schema: TableSchema): string[] {
  const names = [schema.hashKey, schema.rangeKey, schema.index?.hashKey, schema.index?.rangeKey];
  return [...new Set(names.filter((name): name is string => name !== undefined))];
}
