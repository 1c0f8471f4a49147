import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import * as http from "http";
import * as https from "https";
import { Pool } from "undici";
import { CONNECTION_KEY } from "../handlers/lib/connection-store";
import { ConnectionPostSigner, SigningCredentials } from "../handlers/lib/sigv4";

/**
 * The designs strategy 1 (this project's handler) is compared with, each written the way its
 * original is. They run in the fan-out process, against the same gateway and table.
 */

export interface Delivery {
  posted: number;
  failed: number;
  /** Failed posts by error name (or socket error code). */
  failures: Record<string, number>;
}

function newDelivery(): Delivery {
  return { posted: 0, failed: 0, failures: {} };
}

function countFailure(delivery: Delivery, err: unknown): void {
  delivery.failed++;
  const name =
    err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.name) : "NonError";
  delivery.failures[name] = (delivery.failures[name] ?? 0) + 1;
}

/** Clients as the known implementations create them: SDK defaults, endpoints from the environment. */
export class SdkClients {
  readonly dynamo = new DynamoDBClient({});
  readonly management: ApiGatewayManagementApiClient;

  constructor(
    readonly tableName: string,
    managementEndpoint: string,
  ) {
    this.management = new ApiGatewayManagementApiClient({ endpoint: managementEndpoint });
  }

  /** One Scan call, no pagination: what both known implementations read. */
  async firstPageIds(): Promise<string[]> {
    const page = await this.dynamo.send(
      new ScanCommand({ TableName: this.tableName, ProjectionExpression: CONNECTION_KEY }),
    );
    return (page.Items ?? []).map((item) => item[CONNECTION_KEY].S!);
  }

  async post(connectionId: string, data: string, delivery: Delivery): Promise<void> {
    try {
      await this.management.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }),
      );
      delivery.posted++;
    } catch (err) {
      countFailure(delivery, err);
      if (err instanceof Error && err.name === "GoneException") {
        await this.dynamo.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: { [CONNECTION_KEY]: { S: connectionId } },
          }),
        );
      }
    }
  }
}

/** 2. The AWS sample: one Scan page, every post at once with Promise.all. */
export async function singlePageAllAtOnce(clients: SdkClients, data: string): Promise<Delivery> {
  const delivery = newDelivery();
  const ids = await clients.firstPageIds();
  await Promise.all(ids.map((id) => clients.post(id, data, delivery)));
  return delivery;
}

/** 3. The Ruby port: one Scan page, each post awaited before the next. */
export async function oneAtATime(clients: SdkClients, data: string): Promise<Delivery> {
  const delivery = newDelivery();
  for (const id of await clients.firstPageIds()) await clients.post(id, data, delivery);
  return delivery;
}

/**
 * 4. The ceiling for posting: SigV4 signing (the same signer as the handler's) and a keep-alive
 * HTTP POST, nothing else: no table read (the ids are given), no error types, no backoff. It
 * resends only a post whose reused keep-alive socket the server had just closed, which never
 * reached the server (Node's documented case for `request.reusedSocket`).
 */
export class SigningClient {
  private readonly url: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private credentials?: SigningCredentials;

  constructor(
    managementEndpoint: string,
    readonly concurrency: number,
  ) {
    this.url = new URL(managementEndpoint);
    this.transport = this.url.protocol === "https:" ? https : http;
    this.agent = new this.transport.Agent({
      keepAlive: true,
      maxSockets: concurrency,
      maxFreeSockets: concurrency,
    });
  }

  async broadcast(ids: readonly string[], data: string): Promise<Delivery> {
    this.credentials ??= await new ApiGatewayManagementApiClient({
      endpoint: this.url.href,
    }).config.credentials();
    const body = Buffer.from(data);
    const signer = new ConnectionPostSigner(
      this.url.pathname,
      this.url.host,
      process.env.AWS_REGION!,
      body,
    );
    const delivery = newDelivery();
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        try {
          await this.post(signer, id, body).catch(
            (err: NodeJS.ErrnoException & { reused?: boolean }) => {
              if (err.reused && err.code === "ECONNRESET") return this.post(signer, id, body);
              throw err;
            },
          );
          delivery.posted++;
        } catch (err) {
          countFailure(delivery, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    return delivery;
  }

  private post(signer: ConnectionPostSigner, connectionId: string, body: Buffer): Promise<void> {
    const { path, headers } = signer.sign(connectionId, this.credentials!);
    const { hostname, port } = this.url;
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        { agent: this.agent, method: "POST", hostname, port, path, headers },
        (res) => {
          res.resume();
          res.once("end", () =>
            res.statusCode === 200
              ? resolve()
              : reject(
                  Object.assign(new Error(`HTTP ${res.statusCode}`), {
                    name: `HTTP${res.statusCode}`,
                  }),
                ),
          );
        },
      );
      req.once("error", (err) => reject(Object.assign(err, { reused: req.reusedSocket })));
      req.end(body);
    });
  }
}

/**
 * 5. The ceiling for posting on undici: the same signer and the same bare loop as the signing
 * client (4), its posts sent on undici's `Pool` of keep-alive connections (the handler's
 * transport) through its lowest-level API, `dispatch()`, with a handler that only waits for
 * the answer's end. No table read, no error types, no backoff, no retry.
 */
export class UndiciSigningClient {
  private readonly url: URL;
  private readonly pool: Pool;
  private credentials?: SigningCredentials;

  constructor(
    managementEndpoint: string,
    readonly concurrency: number,
  ) {
    this.url = new URL(managementEndpoint);
    this.pool = new Pool(this.url.origin, { connections: concurrency, pipelining: 1 });
  }

  async broadcast(ids: readonly string[], data: string): Promise<Delivery> {
    this.credentials ??= await new ApiGatewayManagementApiClient({
      endpoint: this.url.href,
    }).config.credentials();
    const body = Buffer.from(data);
    const signer = new ConnectionPostSigner(
      this.url.pathname,
      this.url.host,
      process.env.AWS_REGION!,
      body,
    );
    const delivery = newDelivery();
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        try {
          await this.post(signer, id, body);
          delivery.posted++;
        } catch (err) {
          countFailure(delivery, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    return delivery;
  }

  private post(signer: ConnectionPostSigner, connectionId: string, body: Buffer): Promise<void> {
    const { path, headers } = signer.sign(connectionId, this.credentials!);
    return new Promise((resolve, reject) => {
      let status = 0;
      this.pool.dispatch(
        { origin: this.url.origin, method: "POST", path, headers, body },
        {
          onConnect: () => {},
          onHeaders: (statusCode: number) => {
            status = statusCode;
            return true;
          },
          onData: () => true,
          onComplete: () =>
            status === 200
              ? resolve()
              : reject(Object.assign(new Error(`HTTP ${status}`), { name: `HTTP${status}` })),
          onError: reject,
        },
      );
    });
  }
}
