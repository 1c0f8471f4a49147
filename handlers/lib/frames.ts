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
}

export function messageFrame({ room, from, dataJson, sentAt, id }: ChatMessage): string {
  const text = JSON.stringify;
  return `{"type":"message","room":${text(room)},"from":${text(from)},"data":${dataJson},"sentAt":${text(sentAt)},"id":${text(id)}}`;
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
 * `{"type":"history","room":...,"messages":[...]}` frames holding `messageFrames` (oldest first),
 * as few as fit API Gateway's 128 KB each. Always at least one frame: an empty history is said.
 */
export function historyFrames(
  room: string,
  messageFrames: readonly string[],
  maxBytes: number = MAX_MESSAGE_BYTES,
): string[] {
  const [head, tail] = historyEnvelope(room);
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
  const [head, tail] = historyEnvelope(room);
  return maxBytes - Buffer.byteLength(head) - Buffer.byteLength(tail);
}

// The text around the message frames of one history frame.
function historyEnvelope(room: string): [string, string] {
  return [`{"type":"history","room":${JSON.stringify(room)},"messages":[`, "]}"];
}
