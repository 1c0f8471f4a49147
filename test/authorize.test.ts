import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { accessTokenDigest, WebSocketAuthorizerEvent } from "../handlers/lib/access";
import { LocalLambda, writeBundle } from "../local/lambda-runtime";
import { TestIssuer } from "./support/oidc-issuer";
import { eventually } from "./support/within";

const METHOD_ARN = "arn:aws:execute-api:ap-northeast-1:123456789012:abc123/dev/$connect";
const ACCESS_TOKEN = "s3cret-Access-Token-0123456789abcdef";

/** The REQUEST authorizer event API Gateway sends for a $connect (AWS docs' example shape). */
function authorizerEvent(
  options: { headers?: Record<string, string>; query?: Record<string, string> } = {},
): WebSocketAuthorizerEvent {
  const headers = {
    Host: "abc123.execute-api.ap-northeast-1.amazonaws.com",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...options.headers,
  };
  const now = Date.now();
  return {
    type: "REQUEST",
    methodArn: METHOD_ARN,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query
      ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, [v]]))
      : null,
    stageVariables: {},
    requestContext: {
      routeKey: "$connect",
      eventType: "CONNECT",
      extendedRequestId: "ext=",
      requestTime: new Date(now).toUTCString(),
      messageDirection: "IN",
      stage: "dev",
      connectedAt: now,
      requestTimeEpoch: now,
      identity: { sourceIp: "203.0.113.7" },
      requestId: "req=",
      domainName: "abc123.execute-api.ap-northeast-1.amazonaws.com",
      connectionId: "R1kmxc2VNjMCFIA=",
      apiId: "abc123",
    },
  };
}

/** The authorizer's deployable bundle in a local Lambda, with every line it logs kept. */
class Authorizer {
  private constructor(
    private readonly lambda: LocalLambda,
    private readonly dir: string,
    readonly logs: string[],
  ) {}

  static async start(environment: Record<string, string>): Promise<Authorizer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-authorizer-"));
    const logs: string[] = [];
    const lambda = await LocalLambda.start({
      bundlePath: await writeBundle("authorize", dir),
      functionName: "authorize",
      timeoutMs: 10_000,
      environment,
      log: (line) => logs.push(line),
    });
    return new Authorizer(lambda, dir, logs);
  }

  invoke(event: WebSocketAuthorizerEvent): Promise<any> {
    return this.lambda.invoke(event);
  }

  /** Waits (at most 2 s) for a logged line that contains `text`. */
  logged(text: string): Promise<string> {
    const logged = () => this.logs.join("\n") || "(nothing)";
    return eventually(
      `a log line with ${text}`,
      () => this.logs.find((line) => line.includes(text)),
      2_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; got:\n${logged()}`);
    });
  }

  async close(): Promise<void> {
    await this.lambda.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const unauthorized = { message: "Unauthorized" };

function assertAllowed(result: any, sub: string, name?: string): void {
  assert.deepEqual(result, {
    principalId: sub,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: METHOD_ARN }],
    },
    context: name === undefined ? { sub } : { sub, name },
  });
}

describe("$connect authorizer (handlers/authorize.ts)", function () {
  describe("with a shared access token", function () {
    let authorizer: Authorizer;
    before(async function () {
      authorizer = await Authorizer.start({ ACCESS_TOKEN_SHA256: accessTokenDigest(ACCESS_TOKEN) });
    });
    after(async function () {
      await authorizer.close();
    });

    it("refuses a client without a token with Unauthorized (401), and logs why", async function () {
      await assert.rejects(authorizer.invoke(authorizerEvent()), unauthorized);
      const line = JSON.parse(await authorizer.logged("no token"));
      assert.deepEqual(line, {
        event: "connect_refused",
        connectionId: "R1kmxc2VNjMCFIA=",
        sourceIp: "203.0.113.7",
        reason: "no token",
      });
    });

    for (const [what, token] of [
      ["a wrong token", "s3cret-Access-Token-0123456789abcdeX"],
      ["a prefix of the token", ACCESS_TOKEN.slice(0, 10)],
      ["the token and more", `${ACCESS_TOKEN}x`],
      ["an empty Bearer", ""],
    ]) {
      it(`refuses ${what} with Unauthorized (401)`, async function () {
        await assert.rejects(
          authorizer.invoke(authorizerEvent({ headers: { Authorization: `Bearer ${token}` } })),
          unauthorized,
        );
        await assert.rejects(
          authorizer.invoke(authorizerEvent({ query: { token } })),
          unauthorized,
        );
      });
    }

    it("lets in the right token from the token query parameter", async function () {
      const result = await authorizer.invoke(authorizerEvent({ query: { token: ACCESS_TOKEN } }));
      assertAllowed(result, "access-token");
    });

    it("lets in the right token from an Authorization: Bearer header, in any case", async function () {
      for (const [name, scheme] of [
        ["Authorization", "Bearer"],
        ["authorization", "bearer"],
      ]) {
        const result = await authorizer.invoke(
          authorizerEvent({ headers: { [name]: `${scheme} ${ACCESS_TOKEN}` } }),
        );
        assertAllowed(result, "access-token");
      }
    });

    it("is not fooled by a query parameter named like an Object.prototype member", async function () {
      await assert.rejects(
        authorizer.invoke(authorizerEvent({ query: { constructor: ACCESS_TOKEN } })),
        unauthorized,
      );
    });

    it("never logs a presented token, right or wrong", async function () {
      await authorizer.invoke(authorizerEvent({ query: { token: ACCESS_TOKEN } }));
      await authorizer.logged("connect_authorized");
      await assert.rejects(authorizer.invoke(authorizerEvent({ query: { token: "wrong-one" } })));
      await authorizer.logged("wrong access token");
      for (const line of authorizer.logs) {
        assert.ok(!line.includes(ACCESS_TOKEN.slice(0, 8)), line);
        assert.ok(!line.includes("wrong-one"), line);
      }
    });
  });

  describe("with tokens holding +, /, = and %", function () {
    // `openssl rand -base64 32` gives +, / and = about half the time; % is printable too.
    const TOKENS = [
      "q+Zk/8Wm3aX+1v/Ty0pL9e4r+Hs2Nc7u/Jd5oQbFgiE=",
      "p%41ss+w/rd=%2B%zz-0123456789",
    ];
    const authorizers = new Map<string, Authorizer>();
    before(async function () {
      for (const token of TOKENS) {
        authorizers.set(
          token,
          await Authorizer.start({ ACCESS_TOKEN_SHA256: accessTokenDigest(token) }),
        );
      }
    });
    after(async function () {
      for (const authorizer of authorizers.values()) await authorizer.close();
    });

    /**
     * The query parameters API Gateway hands the authorizer for a URL's query string: decoded as
     * a form, `%xx` a byte and `+` a space (the facts file, after aws/aws-cdk#19827; the local
     * gateway decodes with the same URLSearchParams).
     */
    const delivered = (query: string) => Object.fromEntries(new URLSearchParams(query));

    for (const [i, token] of TOKENS.entries()) {
      it(`lets in token ${i + 1} percent-encoded in ?token= and as it is in the header`, async function () {
        const authorizer = authorizers.get(token)!;
        const query = `token=${encodeURIComponent(token)}&room=r`;
        assertAllowed(
          await authorizer.invoke(authorizerEvent({ query: delivered(query) })),
          "access-token",
        );
        assertAllowed(
          await authorizer.invoke(
            authorizerEvent({ headers: { Authorization: `Bearer ${token}` } }),
          ),
          "access-token",
        );
      });
    }

    it("lets in a base64 token pasted into the URL unencoded, its + decoded as spaces", async function () {
      const [base64] = TOKENS;
      const query = delivered(`token=${base64}`);
      assert.notEqual(query.token, base64, "the form decoding changed it");
      assertAllowed(
        await authorizers.get(base64)!.invoke(authorizerEvent({ query })),
        "access-token",
      );
    });

    it("still refuses a wrong token that differs only where a + became a space", async function () {
      const [base64] = TOKENS;
      const wrong = base64.replace("+", "-");
      await assert.rejects(
        authorizers.get(base64)!.invoke(authorizerEvent({ query: delivered(`token=${wrong}`) })),
        unauthorized,
      );
    });
  });

  describe("with JWTs from an OIDC issuer", function () {
    let issuer: TestIssuer;
    let authorizer: Authorizer;
    const jwtEnvironment = () => ({ AUTH_ISSUER: issuer.url, AUTH_AUDIENCE: TestIssuer.AUDIENCE });

    before(async function () {
      issuer = await TestIssuer.start();
      authorizer = await Authorizer.start(jwtEnvironment());
    });
    after(async function () {
      await authorizer.close();
      await issuer.stop();
    });

    it("refuses a client without a token with Unauthorized (401)", async function () {
      await assert.rejects(authorizer.invoke(authorizerEvent()), unauthorized);
    });

    it("lets in a valid token from the query, with its subject and name as context", async function () {
      const token = await issuer.token({ subject: "user-42" });
      const result = await authorizer.invoke(authorizerEvent({ query: { token } }));
      assertAllowed(result, "user-42", "Ada Lovelace");
    });

    it("lets in a valid token from an Authorization: Bearer header", async function () {
      const token = await issuer.token({ subject: "user-7", claims: { name: "Grace" } });
      const result = await authorizer.invoke(
        authorizerEvent({ headers: { Authorization: `Bearer ${token}` } }),
      );
      assertAllowed(result, "user-7", "Grace");
    });

    const refused: [string, () => Promise<string>, string][] = [
      ["an expired token", () => issuer.token({ expiresIn: -60 }), "ERR_JWT_EXPIRED"],
      [
        "a token for another audience",
        () => issuer.token({ audience: "another-app" }),
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
      ],
      [
        "a token from another issuer",
        () => issuer.token({ issuer: "https://evil.example" }),
        "ERR_JWT_CLAIM_VALIDATION_FAILED",
      ],
      [
        "a token signed with a key the issuer does not publish",
        () => issuer.token({ unpublishedKey: true }),
        "ERR_JWKS_NO_MATCHING_KEY",
      ],
      [
        "a token whose signature was tampered with",
        async () => {
          const [header, payload] = (await issuer.token()).split(".");
          const forged = Buffer.from(
            JSON.stringify({
              ...JSON.parse(Buffer.from(payload, "base64url").toString()),
              sub: "admin",
            }),
          ).toString("base64url");
          return `${header}.${forged}.${(await issuer.token()).split(".")[2]}`;
        },
        "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
      ],
      [
        'an unsigned token (alg "none")',
        async () => {
          const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
          const now = Math.floor(Date.now() / 1000);
          const claims = { iss: issuer.url, aud: TestIssuer.AUDIENCE, sub: "x", exp: now + 60 };
          return `${part({ alg: "none" })}.${part(claims)}.`;
        },
        "ERR_JOSE_ALG_NOT_ALLOWED",
      ],
      [
        "a token MACed with the issuer's public key as the secret (alg HS256)",
        async () => {
          const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
          const now = Math.floor(Date.now() / 1000);
          const claims = { iss: issuer.url, aud: TestIssuer.AUDIENCE, sub: "x", exp: now + 60 };
          const signed = `${part({ alg: "HS256", kid: "test-key" })}.${part(claims)}`;
          const { createHmac } = await import("crypto");
          const mac = createHmac("sha256", issuer.jwksUri).update(signed).digest("base64url");
          return `${signed}.${mac}`;
        },
        "ERR_JOSE_ALG_NOT_ALLOWED",
      ],
      ["a token that is not a JWT", async () => "not-a-jwt", "ERR_JWS_INVALID"],
    ];
    for (const [what, makeToken, reason] of refused) {
      it(`refuses ${what} with Unauthorized (401), logging ${reason} and not the token`, async function () {
        const token = await makeToken();
        await assert.rejects(
          authorizer.invoke(authorizerEvent({ query: { token } })),
          unauthorized,
        );
        const line = await authorizer.logged(reason);
        assert.equal(JSON.parse(line).event, "connect_refused");
        for (const logged of authorizer.logs) {
          for (const part of token.split(".").filter((p) => p.length > 8))
            assert.ok(!logged.includes(part), `a log line holds part of the token: ${logged}`);
        }
      });
    }

    it("answers any malformed token with Unauthorized (401), never a failure (500)", async function () {
      const hostile = [
        "a.b.c",
        "....",
        "e30.e30.",
        `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.bm90IGpzb24.AAAA`,
        `${Buffer.from('{"alg":"XYZ"}').toString("base64url")}.e30.AAAA`,
        `${Buffer.from('{"alg":"RS256","crit":["x"]}').toString("base64url")}.e30.AAAA`,
        "x".repeat(20_000),
      ];
      for (const token of hostile) {
        await assert.rejects(
          authorizer.invoke(authorizerEvent({ query: { token } })),
          unauthorized,
          token.slice(0, 40),
        );
      }
    });

    it("fetches the issuer's keys once per container, not once per connection", async function () {
      const fresh = await Authorizer.start(jwtEnvironment());
      try {
        const before = issuer.requests.get("/jwks.json") ?? 0;
        for (let i = 0; i < 5; i++) {
          const token = await issuer.token({ subject: `user-${i}` });
          assertAllowed(
            await fresh.invoke(authorizerEvent({ query: { token } })),
            `user-${i}`,
            "Ada Lovelace",
          );
        }
        assert.equal((issuer.requests.get("/jwks.json") ?? 0) - before, 1);
      } finally {
        await fresh.close();
      }
    });

    it("takes the display name from the configured claim, else the subject", async function () {
      const fresh = await Authorizer.start({ ...jwtEnvironment(), AUTH_NAME_CLAIM: "nickname" });
      try {
        const named = await issuer.token({ subject: "u1", claims: { nickname: "ada" } });
        assertAllowed(
          await fresh.invoke(authorizerEvent({ query: { token: named } })),
          "u1",
          "ada",
        );
        const unnamed = await issuer.token({ subject: "u2" });
        assertAllowed(
          await fresh.invoke(authorizerEvent({ query: { token: unnamed } })),
          "u2",
          "u2",
        );
      } finally {
        await fresh.close();
      }
    });

    it("uses a configured jwksUri without discovery", async function () {
      const fresh = await Authorizer.start({ ...jwtEnvironment(), AUTH_JWKS_URI: issuer.jwksUri });
      try {
        const discoveries = issuer.requests.get("/.well-known/openid-configuration") ?? 0;
        const token = await issuer.token({ subject: "u3" });
        assertAllowed(
          await fresh.invoke(authorizerEvent({ query: { token } })),
          "u3",
          "Ada Lovelace",
        );
        assert.equal(issuer.requests.get("/.well-known/openid-configuration") ?? 0, discoveries);
      } finally {
        await fresh.close();
      }
    });

    it("fails (500, not 401) while the issuer is unreachable, and recovers without a restart", async function () {
      const fresh = await Authorizer.start(jwtEnvironment());
      const token = await issuer.token({ subject: "u4" });
      issuer.unavailable = true;
      try {
        await assert.rejects(fresh.invoke(authorizerEvent({ query: { token } })), (err: Error) => {
          assert.notEqual(err.message, "Unauthorized");
          return true;
        });
        assert.match(await fresh.logged("authorizer_failed"), /answered 503/);
        // The key set itself unreachable (no discovery in the way): jose's own error.
        const direct = await Authorizer.start({
          ...jwtEnvironment(),
          AUTH_JWKS_URI: issuer.jwksUri,
        });
        try {
          await assert.rejects(
            direct.invoke(authorizerEvent({ query: { token } })),
            (err: Error) => {
              assert.notEqual(err.message, "Unauthorized");
              return true;
            },
          );
          await direct.logged("authorizer_failed");
        } finally {
          await direct.close();
        }
        issuer.unavailable = false;
        assertAllowed(
          await fresh.invoke(authorizerEvent({ query: { token } })),
          "u4",
          "Ada Lovelace",
        );
      } finally {
        issuer.unavailable = false;
        await fresh.close();
      }
    });
  });

  describe("with both a shared token and JWTs", function () {
    let issuer: TestIssuer;
    let authorizer: Authorizer;
    before(async function () {
      issuer = await TestIssuer.start();
      authorizer = await Authorizer.start({
        ACCESS_TOKEN_SHA256: accessTokenDigest(ACCESS_TOKEN),
        AUTH_ISSUER: issuer.url,
        AUTH_AUDIENCE: TestIssuer.AUDIENCE,
      });
    });
    after(async function () {
      await authorizer.close();
      await issuer.stop();
    });

    it("lets in a client with either, and refuses one with neither", async function () {
      const byToken = await authorizer.invoke(authorizerEvent({ query: { token: ACCESS_TOKEN } }));
      assertAllowed(byToken, "access-token");
      const jwt = await issuer.token({ subject: "u9" });
      const byJwt = await authorizer.invoke(
        authorizerEvent({ headers: { Authorization: `Bearer ${jwt}` } }),
      );
      assertAllowed(byJwt, "u9", "Ada Lovelace");
      await assert.rejects(
        authorizer.invoke(authorizerEvent({ query: { token: "neither-this-nor-that" } })),
        unauthorized,
      );
    });
  });
});
