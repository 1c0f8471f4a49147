import { IncomingMessage } from "http";
import { WebSocket } from "ws";
import { PROMPTLY_MS, within } from "./within";

/**
 * A real `ws` client that keeps every frame it receives, so a test can wait for the next one
 * without racing the socket. Every wait gives up after a few seconds, naming what it waited for.
 */
export class TestClient {
  private readonly received: string[] = [];
  private readonly waiting: Array<(message: string) => void> = [];
  private readonly closing: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      const message = data.toString();
      const waiter = this.waiting.shift();
      if (waiter) waiter(message);
      else this.received.push(message);
    });
    this.closing = new Promise((resolve) =>
      socket.once("close", (code: number, reason: Buffer) =>
        resolve({ code, reason: reason.toString() }),
      ),
    );
  }

  /** Connects to `url`; rejects with the HTTP status when the upgrade is refused. */
  static connect(
    url: string,
    options: { headers?: Record<string, string>; protocols?: string[]; ca?: string } = {},
  ): Promise<TestClient> {
    const socket = new WebSocket(url, options.protocols ?? [], {
      headers: options.headers,
      ca: options.ca, // the certificate authority a wss:// gateway's certificate comes from
    });
    const opened = new Promise<TestClient>((resolve, reject) => {
      socket.once("open", () => resolve(new TestClient(socket)));
      socket.once("unexpected-response", (_req, res: IncomingMessage) => {
        res.resume();
        reject(
          Object.assign(new Error(`upgrade refused with ${res.statusCode}`), {
            statusCode: res.statusCode,
          }),
        );
        socket.terminate();
      });
      socket.once("error", reject);
    });
    return within(PROMPTLY_MS, `the upgrade to ${url} to be answered`, opened).catch((err) => {
      socket.terminate();
      throw err;
    });
  }

  /** The next frame received (already received ones first). */
  next(what = "the next message to arrive"): Promise<string> {
    const message = this.received.shift();
    if (message !== undefined) return Promise.resolve(message);
    let waiter!: (message: string) => void;
    const arrived = new Promise<string>((resolve) => this.waiting.push((waiter = resolve)));
    return within(PROMPTLY_MS, what, arrived).catch((err) => {
      // A frame arriving after the test gave up must not go to a waiter nobody listens to.
      const index = this.waiting.indexOf(waiter);
      if (index >= 0) this.waiting.splice(index, 1);
      throw err;
    });
  }

  /** The close code and reason, once the connection is closed. */
  get closed(): Promise<{ code: number; reason: string }> {
    return within(PROMPTLY_MS, "the connection to close", this.closing);
  }

  /** Frames received and not yet taken by `next()`. */
  get pending(): readonly string[] {
    return this.received;
  }

  send(data: string | Buffer, options: { binary?: boolean; fin?: boolean } = {}): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(data, options, (err) => (err ? reject(err) : resolve())),
    );
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  async close(code?: number, reason?: string): Promise<{ code: number; reason: string }> {
    if (
      this.socket.readyState === WebSocket.OPEN ||
      this.socket.readyState === WebSocket.CONNECTING
    ) {
      this.socket.close(code, reason);
    }
    return this.closed;
  }
}

/** The HTTP status an upgrade to `url` is answered with when it is refused. */
export async function refusedUpgradeStatus(url: string): Promise<number> {
  try {
    const client = await TestClient.connect(url);
    await client.close();
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined) return status;
    throw err;
  }
  throw new Error(`the upgrade to ${url} was accepted`);
}

/** Sends `body` as a fragmented text message, `size` bytes per frame. */
export async function sendFragmented(
  client: TestClient,
  body: string | Buffer,
  size: number,
): Promise<void> {
  const bytes = Buffer.from(body);
  for (let offset = 0; offset < bytes.length; offset += size) {
    const last = offset + size >= bytes.length;
    await client.send(bytes.subarray(offset, offset + size), { binary: false, fin: last });
  }
}
