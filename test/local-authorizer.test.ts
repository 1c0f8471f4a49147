import { strict as assert } from "assert";
import type { WebSocketAuthorizerEvent } from "../handlers/lib/access";
import { authorize, AuthorizerInvoker, connectMethodArn } from "../local/authorizer";
import { refusedUpgradeStatus } from "./support/local-clients";
import { chatRoutes, ID, useLocalGateway } from "./support/local-gateway";

const METHOD_ARN = connectMethodArn("us-east-1", "000000000000", "api1234567", "dev");
const EVENT = { type: "REQUEST", methodArn: METHOD_ARN } as WebSocketAuthorizerEvent;

function policy(...statements: Record<string, unknown>[]) {
  return {
    principalId: "user-1",
    policyDocument: { Version: "2012-10-17", Statement: statements },
  };
}
const allow = (resource: unknown = METHOD_ARN, action: unknown = "execute-api:Invoke") => ({
  Effect: "Allow",
  Action: action,
  Resource: resource,
});
const deny = (resource: unknown = METHOD_ARN) => ({
  Effect: "Deny",
  Action: "execute-api:Invoke",
  Resource: resource,
});

const returning =
  (result: unknown): AuthorizerInvoker =>
  () =>
    Promise.resolve(result);
const throwing =
  (error: Error): AuthorizerInvoker =>
  () =>
    Promise.reject(error);

describe("local authorizer decisions (as API Gateway makes them)", function () {
  it("builds the $connect method ARN policies name", function () {
    assert.equal(METHOD_ARN, "arn:aws:execute-api:us-east-1:000000000000:api1234567/dev/$connect");
  });

  it("answers 401 when the authorizer throws Unauthorized, 500 for any other error", async function () {
    assert.equal((await authorize(throwing(new Error("Unauthorized")), EVENT)).status, 401);
    assert.equal((await authorize(throwing(new Error("unauthorized")), EVENT)).status, 500);
    assert.equal((await authorize(throwing(new TypeError("boom")), EVENT)).status, 500);
  });

  it("lets through an Allow on the method ARN, with the context, principalId and latency", async function () {
    const decision = await authorize(
      returning({
        ...policy(allow()),
        context: { sub: "user-1", name: "Ada", admin: false, n: 3 },
      }),
      EVENT,
    );
    assert.equal(decision.status, 200);
    if (decision.status !== 200) return;
    const { integrationLatency, ...rest } = decision.authorizer;
    assert.deepEqual(rest, {
      sub: "user-1",
      name: "Ada",
      admin: false,
      n: 3,
      principalId: "user-1",
    });
    assert.equal(typeof integrationLatency, "number");
  });

  it("matches IAM wildcards in Action and Resource, and lists of them", async function () {
    for (const statement of [
      allow("arn:aws:execute-api:us-east-1:000000000000:api1234567/*"),
      allow("arn:aws:execute-api:*:*:api1234567/de?/$connect"),
      allow(["arn:aws:execute-api:us-east-1:000000000000:other/*", METHOD_ARN]),
      allow(METHOD_ARN, "execute-api:*"),
      allow(METHOD_ARN, ["s3:GetObject", "EXECUTE-API:invoke"]),
      allow("*", "*"),
    ]) {
      assert.equal((await authorize(returning(policy(statement)), EVENT)).status, 200);
    }
  });

  it("answers 403 for an explicit Deny, even next to an Allow", async function () {
    assert.equal((await authorize(returning(policy(deny())), EVENT)).status, 403);
    assert.equal((await authorize(returning(policy(allow(), deny("*"))), EVENT)).status, 403);
  });

  it("answers 403 when nothing allows this $connect", async function () {
    for (const statements of [
      [],
      [allow("arn:aws:execute-api:us-east-1:000000000000:other-api/dev/$connect")],
      [allow(METHOD_ARN, "execute-api:ManageConnections")],
      [{ ...allow(), Effect: "allow" }],
    ]) {
      assert.equal((await authorize(returning(policy(...statements)), EVENT)).status, 403);
    }
  });

  it("answers 500 for a response that is not a valid authorizer response", async function () {
    for (const result of [
      undefined,
      "Allow",
      { policyDocument: { Statement: [allow()] } },
      { principalId: "u" },
      { principalId: "u", policyDocument: { Statement: allow() } },
      { ...policy(allow()), context: { nested: { a: 1 } } },
      { ...policy(allow()), context: { list: [1] } },
      { ...policy(allow()), context: "sub=u" },
    ]) {
      const decision = await authorize(returning(result), EVENT);
      assert.equal(decision.status, 500, JSON.stringify(result));
    }
  });
});

describe("local gateway with a $connect authorizer", function () {
  const underTest = useLocalGateway();

  /** Starts a gateway whose authorizer answers with `authorizer(event)`; records what it saw. */
  async function start(authorizer: AuthorizerInvoker) {
    const seen: WebSocketAuthorizerEvent[] = [];
    await underTest.start(chatRoutes, {
      authorizer: (event) => {
        seen.push(event);
        return authorizer(event);
      },
      region: "ap-northeast-1",
    });
    return seen;
  }

  const allowing =
    (context: Record<string, unknown>): AuthorizerInvoker =>
    (event) =>
      Promise.resolve({
        principalId: String(context.sub),
        policyDocument: {
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: event.methodArn }],
        },
        context,
      });

  for (const [status, what, authorizer] of [
    [401, "throws Unauthorized", throwing(new Error("Unauthorized"))],
    [403, "denies", returning(policy(deny("*")))],
    [500, "fails", throwing(new Error("issuer unreachable"))],
    [500, "answers nonsense", returning({ allow: true })],
  ] as const) {
    it(`refuses the upgrade with ${status} and never runs $connect when the authorizer ${what}`, async function () {
      await start(authorizer);
      assert.equal(await refusedUpgradeStatus(underTest.gateway.url), status);
      assert.equal(underTest.integrations.count("$connect"), 0);
      assert.deepEqual(underTest.gateway.connectionIds(), []);
    });
  }

  it("hands the authorizer the upgrade's headers and query, and this stage's $connect ARN", async function () {
    const seen = await start(allowing({ sub: "u1" }));
    await underTest.connect(`${underTest.gateway.url}?token=abc&room=1`, {
      headers: { Authorization: "Bearer xyz" },
    });
    const [event] = seen;
    assert.equal(event.type, "REQUEST");
    assert.equal(
      event.methodArn,
      `arn:aws:execute-api:ap-northeast-1:000000000000:${underTest.gateway.apiId}/dev/$connect`,
    );
    assert.equal(event.headers?.Authorization, "Bearer xyz");
    assert.deepEqual(event.queryStringParameters, { token: "abc", room: "1" });
    assert.equal(event.requestContext.routeKey, "$connect");
    assert.equal(event.requestContext.eventType, "CONNECT");
    assert.match(event.requestContext.connectionId, ID);
  });

  it("gives $connect, every message and $disconnect the authorizer's context, per connection", async function () {
    await start((event) =>
      allowing({ sub: event.queryStringParameters?.token ?? "", name: "Ada" })(event),
    );
    const ada = await underTest.connect(`${underTest.gateway.url}?token=ada-1`);
    const connect = await underTest.integrations.next("$connect");
    const bob = await underTest.connect(`${underTest.gateway.url}?token=bob-2`);
    await underTest.integrations.next("$connect");
    await ada.send(JSON.stringify({ action: "sendmessage", data: "hi" }));
    const message = await underTest.integrations.next("sendmessage");
    await ada.send("not json");
    const fallback = await underTest.integrations.next("$default");
    await ada.close();
    const disconnect = await underTest.integrations.next("$disconnect");
    for (const event of [connect, message, fallback, disconnect]) {
      const { integrationLatency, ...rest } = event.requestContext.authorizer ?? {};
      assert.deepEqual(
        rest,
        { sub: "ada-1", name: "Ada", principalId: "ada-1" },
        event.requestContext.routeKey,
      );
      assert.equal(typeof integrationLatency, "number");
    }
    await bob.send(JSON.stringify({ action: "sendmessage", data: "hey" }));
    const fromBob = await underTest.integrations.next("sendmessage");
    assert.equal(fromBob.requestContext.authorizer?.sub, "bob-2");
  });

  it("sends no authorizer context when the API has no authorizer", async function () {
    await underTest.start(chatRoutes);
    await underTest.connect();
    const connect = await underTest.integrations.next("$connect");
    assert.equal("authorizer" in connect.requestContext, false);
  });
});
