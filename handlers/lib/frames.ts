import { MAX_MESSAGE_BYTES } from "./limits";

/**
 * The JSON frames `chat.v1` clients receive, each with a `type`. Plain clients get a message's
 * `data` as raw text instead, and the `history` and `who` replies as these same frames. Every
 * frame is built once, as text, and sent as is to each recipient.
 */

/** One chat message, as it is broadcast, stored and replayed. */
export interface ChatMessage {
  room: string;
  /** The sender's name. */
  from: string;
  /**
   * The sender's `data` as sent (a string stays a string, any other JSON value stays that
   * value), as the JSON text the message parser already wrote: never serialized twice.
   */
  dataJson: string;
  /** ISO 8601, UTC. */
  sentAt: string;
  /** Unique per message, and sorted by time (handlers/lib/message-id.ts). */
  id: string;
  /**
   * The message's place in its room: one more than the message before it. Absent only where the
   * handlers were given no history table to keep the sequence in.
   */
  seq?: number;
}

export function messageFrame({ room, from, dataJson, sentAt, id, seq }: ChatMessage): string {
  const text = JSON.stringify;
  const place = seq === undefined ? "" : `,"seq":${seq}`;
  return `{"type":"message","room":${text(room)},"from":${text(from)},"data":${dataJson},"sentAt":${text(sentAt)},"id":${text(id)}${place}}`;
}

/** The largest `seq` a frame can carry, for sizing a frame before its number is known. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * What the sender of a message with a `clientId` hears once it is stored (`duplicate: false`),
 * or when the same `clientId` comes again (`duplicate: true`, the first message's id and seq).
 */
export function ackFrame(ack: {
  clientId: string;
  id: string;
  seq?: number;
  duplicate: boolean;
}): string {
  const { clientId, id, seq, duplicate } = ack;
  return JSON.stringify({ type: "ack", clientId, id, seq, duplicate });
}

export function joinedFrame(room: string, name: string, at: string): string {
  return JSON.stringify({ type: "joined", room, name, at });
}

export function leftFrame(room: string, name: string, at: string): string {
  return JSON.stringify({ type: "left", room, name, at });
}

export function presenceFrame(room: string, count: number, names: readonly string[]): string {
  return JSON.stringify({ type: "presence", room, count, names });
}

/**
 * What a history reply says besides its messages: the room's latest `seq` and, for a resume,
 * the `since` it answers and whether nothing between `since` and its first message is missing.
 * Every frame of a reply carries the same.
 */
export interface HistoryState {
  since?: number;
  complete?: boolean;
  latestSeq?: number;
}

/**
 * `{"type":"history","room":...,"messages":[...],...state}` frames holding `messageFrames`
 * (oldest first), as few as fit API Gateway's 128 KB each. Always at least one frame: an empty
 * history is said.
 */
export function historyFrames(
  room: string,
  messageFrames: readonly string[],
  state: HistoryState = {},
  maxBytes: number = MAX_MESSAGE_BYTES,
): string[] {
  const [head, tail] = historyEnvelope(room, state);
  const envelopeBytes = Buffer.byteLength(head) + Buffer.byteLength(tail);
  const frames: string[] = [];
  let batch: string[] = [];
  let bytes = envelopeBytes;
  for (const frame of messageFrames) {
    const frameBytes = Buffer.byteLength(frame);
    // Each frame after the first in a batch also costs its comma.
    if (batch.length > 0 && bytes + 1 + frameBytes > maxBytes) {
      frames.push(head + batch.join(",") + tail);
      batch = [];
      bytes = envelopeBytes;
    }
    bytes += (batch.length > 0 ? 1 : 0) + frameBytes;
    batch.push(frame);
  }
  frames.push(head + batch.join(",") + tail);
  return frames;
}

/**
 * The largest message frame a room can carry: it must reach clients as it is and, alone, inside
 * a history frame, so the history envelope's bytes count against API Gateway's 128 KB.
 */
export function maxMessageFrameBytes(room: string, maxBytes: number = MAX_MESSAGE_BYTES): number {
  const [head, tail] = historyEnvelope(room, LARGEST_STATE);
  return maxBytes - Buffer.byteLength(head) - Buffer.byteLength(tail);
}

// The state that takes the most bytes in a history frame.
const LARGEST_STATE: HistoryState = { since: MAX_SEQ, complete: false, latestSeq: MAX_SEQ };

// The text around the message frames of one history frame.
function historyEnvelope(room: string, state: HistoryState): [string, string] {
  const fields = [
    state.since === undefined ? "" : `,"since":${state.since}`,
    state.complete === undefined ? "" : `,"complete":${state.complete}`,
    state.latestSeq === undefined ? "" : `,"latestSeq":${state.latestSeq}`,
  ];
  return [`{"type":"history","room":${JSON.stringify(room)},"messages":[`, `]${fields.join("")}}`];
}
