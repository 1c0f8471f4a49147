import * as http from "http";
import { AddressInfo } from "net";

/**
 * What the fake @connections API answers for one connection, one call after another;
 * `"hang"` reads the request and never answers.
 */
export type Answer = 200 | 410 | 429 | 500 | "hang";

const ERROR_TYPES: Record<number, string> = {
  410: "GoneException",
  429: "LimitExceededException",
  500: "InternalServerErrorException",
};

/**
 * A stand-in for API Gateway's @connections API on a free loopback port. Each connection answers
 * from its script (the last answer repeats; unknown ids answer 200), with the same
 * `x-amzn-ErrorType` header API Gateway sends, and every POST is recorded.
 */
export class FakeConnectionsApi {
  /** Bodies successfully posted, by connection id. */
  readonly delivered = new Map<string, string[]>();
  /** Every POST, answered or not, by connection id. */
  readonly attempts = new Map<string, number>();
  private readonly scripts = new Map<string, Answer[]>();

  private constructor(
    private readonly server: http.Server,
    readonly stage: string,
  ) {}

  static async start(stage = "test"): Promise<FakeConnectionsApi> {
    const server = http.createServer();
    const api = new FakeConnectionsApi(server, stage);
    server.on("request", (req, res) => api.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return api;
  }

  /** The endpoint a handler gets as MANAGEMENT_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${this.stage}`;
  }

  answer(connectionId: string, ...answers: Answer[]): void {
    this.scripts.set(connectionId, answers);
  }

  reset(): void {
    this.delivered.clear();
    this.attempts.clear();
    this.scripts.clear();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const prefix = `/${this.stage}/@connections/`;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url?.startsWith(prefix)) {
        res.writeHead(404).end();
        return;
      }
      const id = decodeURIComponent(req.url.slice(prefix.length));
      this.attempts.set(id, (this.attempts.get(id) ?? 0) + 1);
      const script = this.scripts.get(id) ?? [200];
      const status = script.length > 1 ? script.shift()! : script[0];
      if (status === "hang") return;
      if (status === 200) {
        this.delivered.set(id, [
          ...(this.delivered.get(id) ?? []),
          Buffer.concat(chunks).toString(),
        ]);
        res.writeHead(200).end();
        return;
      }
      res
        .writeHead(status, {
          "content-type": "application/json",
          "x-amzn-ErrorType": ERROR_TYPES[status],
        })
        .end(JSON.stringify({ message: ERROR_TYPES[status] }));
    });
  }
}
