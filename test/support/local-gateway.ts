import { strict as assert } from "assert";
import { LocalGateway, LocalGatewayOptions, RouteInvoker } from "../../local/gateway";
import { WebSocketEvent } from "../../local/gateway-events";
import { TestClient } from "./local-clients";
import { PROMPTLY_MS, within } from "./within";

/** An id in API Gateway's form: 16 characters of base64 ending in `=`. */
export const ID = /^[A-Za-z0-9+/]{15}=$/;

/** Every event the gateway sent to a route, with a way to wait for the next one per route. */
export class Integrations {
  readonly events: WebSocketEvent[] = [];
  private readonly waiters: Array<{ routeKey: string; resolve: (event: WebSocketEvent) => void }> =
    [];
  private readonly taken = new Set<WebSocketEvent>();

  /** A route integration that records its event, then answers with `answer(event)`. */
  route(answer: (event: WebSocketEvent) => unknown = () => ({ statusCode: 200 })): RouteInvoker {
    return async (event) => {
      this.events.push(event);
      const index = this.waiters.findIndex((w) => w.routeKey === event.requestContext.routeKey);
      if (index >= 0) this.waiters.splice(index, 1)[0].resolve(event);
      return answer(event);
    };
  }

  /** The next event for `routeKey` not yet taken (including ones already received). */
  next(routeKey: string): Promise<WebSocketEvent> {
    const index = this.events.findIndex(
      (e) => e.requestContext.routeKey === routeKey && !this.taken.has(e),
    );
    if (index >= 0) {
      this.taken.add(this.events[index]);
      return Promise.resolve(this.events[index]);
    }
    const waiter = { routeKey, resolve: (_event: WebSocketEvent) => {} };
    const arrived = new Promise<WebSocketEvent>((resolve) => {
      waiter.resolve = (event) => {
        this.taken.add(event);
        resolve(event);
      };
      this.waiters.push(waiter);
    });
    return within(PROMPTLY_MS, `a ${routeKey} event`, arrived).catch((err) => {
      const index = this.waiters.indexOf(waiter);
      if (index >= 0) this.waiters.splice(index, 1);
      throw err;
    });
  }

  count(routeKey: string): number {
    return this.events.filter((e) => e.requestContext.routeKey === routeKey).length;
  }
}

/** The usual chat routes, each recording its events. */
export const chatRoutes = (i: Integrations) => ({
  $connect: i.route(),
  $disconnect: i.route(),
  sendmessage: i.route(),
  $default: i.route(),
});

/** A gateway started by a test, its recorded integrations, and the clients it connected. */
export class GatewayUnderTest {
  private started?: LocalGateway;
  private recorded?: Integrations;
  private readonly clients: TestClient[] = [];

  /** The running gateway; throws when the test has not started one. */
  get gateway(): LocalGateway {
    if (!this.started) throw new Error("no gateway started: call start() first");
    return this.started;
  }

  /** The integrations of the running gateway's routes. */
  get integrations(): Integrations {
    if (!this.recorded) throw new Error("no gateway started: call start() first");
    return this.recorded;
  }

  /** Starts a gateway on a free loopback port at stage "dev", routing on `$request.body.action`. */
  async start(
    routes: (i: Integrations) => Record<string, RouteInvoker>,
    options: Partial<LocalGatewayOptions> = {},
  ): Promise<LocalGateway> {
    const integrations = new Integrations();
    this.recorded = integrations;
    this.started = await LocalGateway.start({
      port: 0,
      stage: "dev",
      routeSelectionExpression: "$request.body.action",
      routes: routes(integrations),
      ...options,
    });
    return this.started;
  }

  /** Connects a client that `stop()` closes. */
  async connect(
    url = this.gateway.url,
    options?: Parameters<typeof TestClient.connect>[1],
  ): Promise<TestClient> {
    const client = await TestClient.connect(url, options);
    this.clients.push(client);
    return client;
  }

  /** Connects and returns the client with its connection id, from the $connect event. */
  async connectWithId(): Promise<{ client: TestClient; id: string }> {
    const client = await this.connect();
    const event = await this.integrations.next("$connect");
    return { client, id: event.requestContext.connectionId };
  }

  /**
   * Connects, has `send` break the rules, and checks that the gateway closed the connection
   * with `code`, ran `$disconnect` with it, and ran no message handler.
   */
  async assertClosedWith(send: (client: TestClient) => Promise<void>, code: number): Promise<void> {
    const { client, id } = await this.connectWithId();
    await send(client).catch(() => {}); // the server may close mid-send
    assert.equal((await client.closed).code, code);
    const disconnect = await this.integrations.next("$disconnect");
    assert.equal(disconnect.requestContext.connectionId, id);
    assert.equal(disconnect.requestContext.disconnectStatusCode, code);
    assert.equal(
      this.integrations.count("sendmessage") + this.integrations.count("$default"),
      0,
      "no handler ran",
    );
  }

  /** Closes every client, then the gateway. */
  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.close()));
    const gateway = this.started;
    this.started = undefined;
    if (gateway)
      await within(PROMPTLY_MS, "the gateway to close (every $disconnect run)", gateway.close());
  }
}

/** `fetch(url, init)`, giving up after a few seconds with the method and URL it waited on. */
export function answerTo(url: string, init: RequestInit = {}): Promise<Response> {
  return within(PROMPTLY_MS, `the answer to ${init.method ?? "GET"} ${url}`, fetch(url, init));
}

/** A gateway for each test of the enclosing `describe`, stopped after each. */
export function useLocalGateway(): GatewayUnderTest {
  const underTest = new GatewayUnderTest();
  afterEach(() => underTest.stop());
  return underTest;
}

/**
 * A promise that stays pending until `release()`: holds a handler mid-flight. A test that fails
 * before releasing it must not leave the handler, and the gateway's close, waiting forever: the
 * latch gives up after a few seconds, and the handler fails.
 */
export function latch(what: string): { released: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { released: within(PROMPTLY_MS, `the test to release ${what}`, released), release };
}
