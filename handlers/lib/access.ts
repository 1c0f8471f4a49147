import type {
  APIGatewayAuthorizerResult,
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayRequestAuthorizerEvent,
} from "aws-lambda";
import { createHash, timingSafeEqual } from "crypto";
import { createRemoteJWKSet, jwtVerify, JWTVerifyGetKey } from "jose";

/**
 * Who may connect: the checks behind the `$connect` authorizer (handlers/authorize.ts). API
 * Gateway runs it before `$connect`; what it returns decides the handshake (401, 403 or on to
 * `$connect`), and its context reaches every later event of the connection.
 */

/** The REQUEST authorizer event of a WebSocket API's `$connect`, as API Gateway sends it. */
export type WebSocketAuthorizerEvent = Pick<
  APIGatewayRequestAuthorizerEvent,
  | "type"
  | "methodArn"
  | "headers"
  | "multiValueHeaders"
  | "queryStringParameters"
  | "multiValueQueryStringParameters"
  | "stageVariables"
> & {
  // @types/aws-lambda leaves out `identity`, which WebSocket events carry, and has a
  // `messageId` that only MESSAGE events carry.
  requestContext: Omit<APIGatewayEventWebsocketRequestContextV2, "messageId"> & {
    identity?: { sourceIp: string; userAgent?: string };
  };
};

/** Who connected, as every route then sees it in `requestContext.authorizer`. */
export interface ConnectIdentity {
  /** The token's subject; for a shared access token, "access-token". */
  sub: string;
  /**
   * A display name: the configured claim, else the subject. None for a shared access token,
   * which says nothing about who holds it: then the client's own `?name=` stands.
   */
  name?: string;
}

export type AccessVerdict =
  | { allowed: true; identity: ConnectIdentity }
  /** `reason` is for the log: it never holds the token or any part of it. */
  | { allowed: false; reason: string };

/** One way of checking a presented token. */
export interface AccessCheck {
  verify(token: string): Promise<AccessVerdict>;
}

/**
 * A check that lets in what any of `checks` lets in, tried in order (the shared token first: a
 * hash, where a JWT may need the issuer's keys). A refusal gives the last check's reason.
 */
export function anyOf(checks: AccessCheck[]): AccessCheck {
  return {
    async verify(token) {
      let verdict: AccessVerdict = { allowed: false, reason: "no check" };
      for (const check of checks) {
        verdict = await check.verify(token);
        if (verdict.allowed) return verdict;
      }
      return verdict;
    },
  };
}

/** The query parameter that carries a token (browsers cannot set headers on a WebSocket). */
export const TOKEN_QUERY_PARAMETER = "token";

/**
 * The token the client presented: an `Authorization: Bearer <token>` header, else the `token`
 * query parameter. Header names are matched in any case, as HTTP has them.
 *
 * A query string reaches the authorizer decoded as a form: `%2B` is `+`, and a bare `+` is a
 * space (URLSearchParams here; API Gateway too, per aws/aws-cdk#19827). A base64 token put in a
 * URL unencoded thus arrives with spaces where its `+` were. No token holds a space (shared
 * tokens are refused with one, JWTs are base64url), so each space is put back as the `+` it was.
 */
export function presentedToken(event: WebSocketAuthorizerEvent): string | undefined {
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() !== "authorization" || value === undefined) continue;
    const bearer = /^Bearer +(\S+) *$/i.exec(value);
    if (bearer) return bearer[1];
  }
  const query = event.queryStringParameters ?? {};
  const token = Object.hasOwn(query, TOKEN_QUERY_PARAMETER)
    ? query[TOKEN_QUERY_PARAMETER]
    : undefined;
  return token ? token.replaceAll(" ", "+") : undefined;
}

/** The authorizer's answer that lets a client through: an IAM policy on this very `$connect`. */
export function allowConnect(
  methodArn: string,
  identity: ConnectIdentity,
): APIGatewayAuthorizerResult {
  return {
    principalId: identity.sub,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: methodArn }],
    },
    context:
      identity.name === undefined
        ? { sub: identity.sub }
        : { sub: identity.sub, name: identity.name },
  };
}

/** The SHA-256 of an access token, hex: what the authorizer is given instead of the token. */
export function accessTokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * A shared access token. The function holds only its SHA-256 (so its configuration does not
 * reveal the token), and compares digests in constant time: equal lengths always, and no
 * early exit that would tell a guesser how much of a token was right.
 */
export class SharedTokenCheck implements AccessCheck {
  private readonly expected: Buffer;

  constructor(digestHex: string) {
    if (!/^[0-9a-f]{64}$/i.test(digestHex)) {
      throw new Error("The access token digest must be 64 hexadecimal characters (SHA-256)");
    }
    this.expected = Buffer.from(digestHex, "hex");
  }

  verify(token: string): Promise<AccessVerdict> {
    const presented = createHash("sha256").update(token, "utf8").digest();
    return Promise.resolve(
      timingSafeEqual(presented, this.expected)
        ? { allowed: true, identity: { sub: "access-token" } }
        : { allowed: false, reason: "wrong access token" },
    );
  }
}

/** The claim that holds a display name unless configured otherwise (OIDC's standard claim). */
export const DEFAULT_NAME_CLAIM = "name";

export interface JwtSettings<Value = string> {
  /** The OIDC issuer, exactly as tokens carry it in `iss`. */
  issuer: Value;
  /** The audience tokens must be for (`aud`): the application's client id. */
  audience: Value;
  /** Where the issuer's keys are; unset: from its OpenID discovery document. */
  jwksUri?: Value;
  /** The claim that holds the display name. */
  nameClaim: string;
}

// Signatures made with the issuer's private keys only: never "none", never a shared-key HMAC.
const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

// jose's error codes for a token that is at fault (expired, forged, for someone else...): the
// client is refused. Anything else (the issuer unreachable, a broken key set) is this side's
// fault and fails the invocation, which API Gateway answers with 500.
const TOKEN_FAULTS = new Set([
  "ERR_JWT_EXPIRED",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JWT_INVALID",
  "ERR_JWS_INVALID",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
]);

// A cold start waits for the discovery document and the key set: keep each wait short.
const FETCH_TIMEOUT_MS = 3000;

/**
 * JWTs from an OIDC issuer (Cognito, Auth0, ...), verified with `jose` against the issuer's
 * published keys. The key set is fetched once per container and kept (jose refetches it when a
 * token names a key it has not seen, at most every 30 s, and after 10 minutes).
 */
export class JwtCheck implements AccessCheck {
  private keys?: Promise<JWTVerifyGetKey>;

  constructor(private readonly settings: JwtSettings) {}

  async verify(token: string): Promise<AccessVerdict> {
    const keys = await this.keySet();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ASYMMETRIC_ALGORITHMS,
        requiredClaims: ["sub", "exp"],
      }));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === "string" && TOKEN_FAULTS.has(code))
        return { allowed: false, reason: code };
      throw err;
    }
    const sub = payload.sub;
    if (typeof sub !== "string" || sub === "") return { allowed: false, reason: "no subject" };
    const name = payload[this.settings.nameClaim];
    return {
      allowed: true,
      identity: { sub, name: typeof name === "string" && name !== "" ? name : sub },
    };
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    if (!this.keys) {
      const keys = this.jwksUri().then((uri) =>
        createRemoteJWKSet(uri, { timeoutDuration: FETCH_TIMEOUT_MS }),
      );
      // A failed discovery is retried by the next invocation rather than remembered.
      keys.catch(() => (this.keys = undefined));
      this.keys = keys;
    }
    return this.keys;
  }

  private async jwksUri(): Promise<URL> {
    if (this.settings.jwksUri) return trustedUrl(this.settings.jwksUri, "jwksUri");
    // OpenID Connect Discovery 1.0, section 4: the document lives under the issuer, and must
    // name that same issuer.
    const discovery = `${this.settings.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const response = await fetch(discovery, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${discovery} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== this.settings.issuer) {
      throw new Error(
        `${discovery} names issuer ${String(document.issuer)}, not ${this.settings.issuer}`,
      );
    }
    if (typeof document.jwks_uri !== "string") throw new Error(`${discovery} has no jwks_uri`);
    return trustedUrl(document.jwks_uri, "jwks_uri");
  }
}

/**
 * An https URL, or http on this machine only (a local issuer for tests and local mode): keys
 * fetched in the clear could be swapped on the way.
 */
export function trustedUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${what} "${text}" is not a URL`);
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname)))
    return url;
  throw new Error(`${what} "${text}" must be an https:// URL`);
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
