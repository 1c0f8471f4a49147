import { randomBytes } from "crypto";
import * as net from "net";
import { PROMPTLY_MS, within } from "./within";

/** One frame as the client puts it on the wire: any opcode, flag or payload, valid or not. */
export interface RawFrame {
  opcode: number;
  payload: Buffer;
  /** Default true. */
  fin?: boolean;
  /** The RSV1-3 bits, as the number 0-7. Default 0. */
  rsv?: number;
  /** Clients must mask; false sends the payload in clear. Default true. */
  mask?: boolean;
}

/** A frame the server sent (servers never mask). */
export interface ServerFrame {
  opcode: number;
  fin: boolean;
  payload: Buffer;
}

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

/** The bytes of `frame`, exactly as asked, with a random mask unless told otherwise. */
export function encodeFrame(frame: RawFrame): Buffer {
  const { payload } = frame;
  const masked = frame.mask ?? true;
  const first = ((frame.fin ?? true) ? 0x80 : 0) | ((frame.rsv ?? 0) << 4) | frame.opcode;
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([first, length])
      : length < 65536
        ? Buffer.from([first, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([first, 127]), bigEndian64(length)]);
  if (masked) header[1] |= 0x80;
  if (!masked) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([header, key, body]);
}

function bigEndian64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(Math.floor(value / 2 ** 32), 0);
  bytes.writeUInt32BE(value >>> 0, 4);
  return bytes;
}

/** What the server answered an upgrade request with. */
export interface UpgradeAnswer {
  /** The HTTP status, or undefined when the server closed the socket without answering. */
  status?: number;
  /** Set when the status is 101: the open connection. */
  client?: RawWebSocket;
}

/**
 * A WebSocket client that writes whatever bytes it is told to, for testing what a server does
 * with broken framing, invalid UTF-8 and handshakes no library would send. It reads the server's
 * frames as they come.
 */
export class RawWebSocket {
  private buffered = Buffer.alloc(0);
  private readonly frames: ServerFrame[] = [];
  private closeSent = false;
  /** Pongs received: counted, not queued with the other frames. */
  pongs = 0;
  private readonly waiters: Array<() => void> = [];
  private ended = false;

  private constructor(readonly socket: net.Socket) {}

  /**
   * Opens a TCP connection to `port` on `host`, writes `request` (an HTTP request head, or any
   * bytes), and resolves with the answer's status, and the open client on 101.
   */
  static async request(
    host: string,
    port: number,
    request: string | Buffer,
  ): Promise<UpgradeAnswer> {
    const socket = await RawWebSocket.open(host, port);
    socket.write(request);
    return RawWebSocket.answer(socket);
  }

  /** A TCP connection to `host`:`port`, for a test to write a request into as it likes. */
  static async open(host: string, port: number): Promise<net.Socket> {
    const socket = net.connect(port, host);
    socket.on("error", () => {});
    await within(
      PROMPTLY_MS,
      "a TCP connection to the gateway",
      new Promise((resolve) => socket.once("connect", resolve)),
    );
    return socket;
  }

  /**
   * Reads the answer to a request written to `socket`: its status, and on 101 the open
   * connection. No status when the server closes the socket without answering.
   */
  static answer(socket: net.Socket): Promise<UpgradeAnswer> {
    return within(PROMPTLY_MS, "the answer to an upgrade request", RawWebSocket.readAnswer(socket));
  }

  private static readAnswer(socket: net.Socket): Promise<UpgradeAnswer> {
    return new Promise((resolve) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData).off("close", onClose);
        const status = Number(
          /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString("latin1"))?.[1],
        );
        if (status !== 101) {
          socket.destroy();
          return resolve({ status });
        }
        const client = new RawWebSocket(socket);
        client.listen(head.subarray(end + 4));
        resolve({ status, client });
      };
      const onClose = () => resolve({ status: undefined });
      socket.on("data", onData).once("close", onClose);
    });
  }

  private listen(rest: Buffer): void {
    const onData = (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      for (let frame = this.parse(); frame; frame = this.parse()) {
        if (frame.opcode === OPCODE.pong) this.pongs++;
        else this.frames.push(frame);
        // A well-behaved client answers the server's close frame with its own (RFC 6455 5.5.1).
        if (frame.opcode === OPCODE.close && !this.closeSent) {
          this.closeSent = true;
          this.send({ opcode: OPCODE.close, payload: frame.payload.subarray(0, 2) });
        }
      }
      this.wake();
    };
    this.socket.on("data", onData);
    this.socket.once("close", () => {
      this.ended = true;
      this.wake();
    });
    if (rest.length > 0) onData(rest);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private parse(): ServerFrame | undefined {
    const bytes = this.buffered;
    if (bytes.length < 2) return undefined;
    let length = bytes[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (bytes.length < 4) return undefined;
      length = bytes.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return undefined;
      length = bytes.readUInt32BE(2) * 2 ** 32 + bytes.readUInt32BE(6);
      offset = 10;
    }
    if (bytes.length < offset + length) return undefined;
    const frame = {
      opcode: bytes[0] & 0x0f,
      fin: (bytes[0] & 0x80) !== 0,
      payload: Buffer.from(bytes.subarray(offset, offset + length)),
    };
    this.buffered = bytes.subarray(offset + length);
    return frame;
  }

  send(frame: RawFrame): void {
    this.socket.write(encodeFrame(frame));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame from the server, or undefined once the connection has ended. */
  async nextFrame(what: string): Promise<ServerFrame | undefined> {
    return within(
      PROMPTLY_MS,
      what,
      (async () => {
        while (this.frames.length === 0 && !this.ended) {
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
        return this.frames.shift();
      })(),
    );
  }

  /** Frames received and not yet taken (pongs aside). */
  get pending(): readonly ServerFrame[] {
    return this.frames;
  }

  get isOpen(): boolean {
    return !this.ended && !this.socket.destroyed;
  }

  /** Closes with a close frame and waits for the server to end the connection. */
  async close(code = 1000): Promise<void> {
    if (!this.isOpen) return;
    if (!this.closeSent) {
      this.closeSent = true;
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      this.send({ opcode: OPCODE.close, payload });
    }
    await within(
      PROMPTLY_MS,
      "the server to end a closed connection",
      new Promise<void>((resolve) =>
        this.ended ? resolve() : this.socket.once("close", () => resolve()),
      ),
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}
