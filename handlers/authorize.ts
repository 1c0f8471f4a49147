import type { APIGatewayAuthorizerResult } from "aws-lambda";
import {
  AccessCheck,
  allowConnect,
  anyOf,
  DEFAULT_NAME_CLAIM,
  JwtCheck,
  presentedToken,
  SharedTokenCheck,
  WebSocketAuthorizerEvent,
} from "./lib/access";
import { ENV, requireEnv } from "./lib/environment";
import { describeError, logError, logInfo } from "./lib/log";

/**
 * The `$connect` authorizer (a Lambda REQUEST authorizer): lets in a client that presents a
 * valid token, as `Authorization: Bearer <token>` or `?token=<token>`. Throwing
 * `Error("Unauthorized")` is how a Lambda authorizer makes API Gateway answer 401; any other
 * failure is answered with 500. Tokens are never logged, not even in part.
 */
export const handler = async (
  event: WebSocketAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> => {
  const { connectionId, identity } = event.requestContext;
  const refuse = (reason: string): never => {
    logInfo("connect_refused", { connectionId, sourceIp: identity?.sourceIp, reason });
    throw new Error("Unauthorized");
  };
  const token = presentedToken(event);
  if (token === undefined) return refuse("no token");
  let verdict;
  try {
    verdict = await accessCheck().verify(token);
  } catch (err) {
    logError("authorizer_failed", { connectionId, ...describeError(err) });
    throw err;
  }
  if (!verdict.allowed) return refuse(verdict.reason);
  logInfo("connect_authorized", { connectionId, sub: verdict.identity.sub });
  return allowConnect(event.methodArn, verdict.identity);
};

// Built once per container: the JWT check keeps the issuer's keys between invocations.
let check: AccessCheck | undefined;
function accessCheck(): AccessCheck {
  if (!check) {
    const digest = process.env[ENV.accessTokenSha256];
    const issuer = process.env[ENV.authIssuer];
    const checks: AccessCheck[] = [];
    if (digest) checks.push(new SharedTokenCheck(digest));
    if (issuer) {
      checks.push(
        new JwtCheck({
          issuer,
          audience: requireEnv(ENV.authAudience),
          jwksUri: process.env[ENV.authJwksUri] || undefined,
          nameClaim: process.env[ENV.authNameClaim] || DEFAULT_NAME_CLAIM,
        }),
      );
    }
    if (checks.length === 0) {
      throw new Error(`The authorizer needs ${ENV.accessTokenSha256} or ${ENV.authIssuer}`);
    }
    check = anyOf(checks);
  }
  return check;
}
