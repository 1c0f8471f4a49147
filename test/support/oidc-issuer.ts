import * as http from "http";
import { exportJWK, generateKeyPair, JWTPayload, SignJWT } from "jose";
import { AddressInfo } from "net";

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** What a test may change about one token; everything else is a valid token of this issuer. */
export interface TokenOptions {
  subject?: string;
  audience?: string;
  issuer?: string;
  /** Seconds from now; negative for a token that has expired. */
  expiresIn?: number;
  claims?: JWTPayload;
  /** Sign with a key the issuer does not publish. */
  unpublishedKey?: boolean;
}

/**
 * An OpenID Connect issuer on a free loopback port: a discovery document and a JSON Web Key
 * Set with one RS256 key, and a way to mint tokens signed by that key (or by one it does not
 * publish). Counts the requests for each document, so a test can see the keys being cached.
 */
export class TestIssuer {
  /** Requests per path. */
  readonly requests = new Map<string, number>();
  /** While true, every request is answered 503. */
  unavailable = false;
  static readonly AUDIENCE = "chat-client";

  private constructor(
    private readonly server: http.Server,
    private readonly key: SigningKey,
    private readonly strangerKey: SigningKey,
    private readonly jwks: unknown,
  ) {}

  static async start(): Promise<TestIssuer> {
    const [published, stranger] = await Promise.all([
      generateKeyPair("RS256", { extractable: true }),
      generateKeyPair("RS256"),
    ]);
    const jwk = { ...(await exportJWK(published.publicKey)), kid: "test-key", alg: "RS256" };
    const server = http.createServer();
    const issuer = new TestIssuer(server, published.privateKey, stranger.privateKey, {
      keys: [jwk],
    });
    server.on("request", (req, res) => issuer.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return issuer;
  }

  /** The issuer URL, as tokens carry it in `iss`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get jwksUri(): string {
    return `${this.url}/jwks.json`;
  }

  async token(options: TokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ name: "Ada Lovelace", ...options.claims })
      .setProtectedHeader({
        alg: "RS256",
        kid: options.unpublishedKey ? "unpublished-key" : "test-key",
        typ: "JWT",
      })
      .setIssuer(options.issuer ?? this.url)
      .setAudience(options.audience ?? TestIssuer.AUDIENCE)
      .setSubject(options.subject ?? "user-1")
      .setIssuedAt(now - 60)
      .setExpirationTime(now + (options.expiresIn ?? 300))
      .sign(options.unpublishedKey ? this.strangerKey : this.key);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? "/";
    this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
    const json = (body: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (this.unavailable) res.writeHead(503).end();
    else if (path === "/.well-known/openid-configuration") {
      json({ issuer: this.url, jwks_uri: this.jwksUri });
    } else if (path === "/jwks.json") json(this.jwks);
    else res.writeHead(404).end();
  }
}
