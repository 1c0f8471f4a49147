import * as net from "net";
import { AddressInfo } from "net";

/**
 * A loopback TCP proxy in front of one port, whose network a test can cut: `sever()` drops
 * every connection through it at once (no WebSocket close frame, as when a phone loses its
 * network) and refuses new ones until `restore()`. More faithful than a browser's offline
 * emulation, which may leave open WebSockets alone.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private severed = false;

  private constructor(
    private readonly server: net.Server,
    private readonly targetPort: number,
  ) {
    server.on("connection", (client) => this.accept(client));
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(net.createServer(), targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Drops every connection now, and every new one until `restore()`. */
  sever(): void {
    this.severed = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.severed = false;
  }

  async stop(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.severed) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      this.sockets.add(from);
      from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}
