import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES } from "../handlers/lib/limits";

/**
 * Watches the raw bytes a client sends and reports the first frame or message over API
 * Gateway's size limits, as soon as its header arrives. `ws` can only limit whole messages,
 * and clients send most messages as one frame, so the frame limit is what a client hits first.
 * Reads headers only: payload bytes are skipped, never copied.
 */
export class FrameLimits {
  private readonly header = Buffer.alloc(14);
  private headerBytes = 0;
  private headerLength = 2;
  private payloadLeft = 0;
  private opcode = 0;
  private finalFrame = false;
  private messageBytes = 0;
  private tripped = false;

  constructor(private readonly onExceeded: (reason: string) => void) {}

  /** Feed every chunk read from the socket, in order. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.tripped) {
      if (this.payloadLeft > 0) {
        const skipped = Math.min(this.payloadLeft, chunk.length - offset);
        this.payloadLeft -= skipped;
        offset += skipped;
        if (this.payloadLeft === 0) this.endFrame();
        continue;
      }
      this.header[this.headerBytes++] = chunk[offset++];
      if (this.headerBytes === 2)
        this.headerLength =
          2 + extendedLengthBytes(this.header[1]) + (this.header[1] & 0x80 ? 4 : 0);
      if (this.headerBytes === this.headerLength) this.startPayload();
    }
  }

  private startPayload(): void {
    const opcode = (this.opcode = this.header[0] & 0x0f);
    this.finalFrame = (this.header[0] & 0x80) !== 0;
    const length = payloadLength(this.header);
    this.headerBytes = 0;
    this.headerLength = 2;
    this.payloadLeft = length;
    if (opcode < 0x08) {
      // 0 continues a fragmented message; 1 (text) and 2 (binary) start one.
      this.messageBytes = opcode === 0 ? this.messageBytes + length : length;
      if (length > MAX_FRAME_BYTES)
        return this.trip(`frame of ${length} bytes is over ${MAX_FRAME_BYTES}`);
      if (this.messageBytes > MAX_MESSAGE_BYTES) {
        return this.trip(`message of ${this.messageBytes}+ bytes is over ${MAX_MESSAGE_BYTES}`);
      }
    }
    if (length === 0) this.endFrame();
  }

  private endFrame(): void {
    if (this.opcode < 0x08 && this.finalFrame) this.messageBytes = 0;
  }

  private trip(reason: string): void {
    this.tripped = true;
    this.onExceeded(reason);
  }
}

function extendedLengthBytes(secondByte: number): number {
  const length = secondByte & 0x7f;
  return length === 126 ? 2 : length === 127 ? 8 : 0;
}

function payloadLength(header: Buffer): number {
  const length = header[1] & 0x7f;
  if (length === 126) return header.readUInt16BE(2);
  if (length === 127) return header.readUInt32BE(2) * 2 ** 32 + header.readUInt32BE(6);
  return length;
}
