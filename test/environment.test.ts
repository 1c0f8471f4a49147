import { strict as assert } from "assert";
import { handlerEnvironment } from "../components/environment";
import { resolveSettings } from "../components/settings";
import { ENV } from "../handlers/lib/environment";

const NAMES = {
  connectionsTableName: "chat-connections",
  historyTableName: "chat-history",
  managementEndpoint: "https://api.example/dev",
};

describe("handlerEnvironment: the route functions' environment from resolved settings", () => {
  it("sets every handler variable (not the authorizer's, not the tests' page size)", () => {
    const notForRoutes: string[] = [
      ENV.accessTokenSha256,
      ENV.authIssuer,
      ENV.authAudience,
      ENV.authJwksUri,
      ENV.authNameClaim,
      ENV.pageSize,
    ];
    const environment = handlerEnvironment(resolveSettings({}, "dev"), NAMES);
    assert.deepEqual(
      Object.keys(environment).sort(),
      Object.values(ENV)
        .filter((name) => !notForRoutes.includes(name))
        .sort(),
    );
  });

  it("writes each setting as the handlers read it, and the resources' names as given", () => {
    const settings = resolveSettings(
      {
        messageRoute: "pushmessage",
        routeSelectionExpression: "$request.body.message",
        connectionTtlSeconds: 900,
        messageRateLimit: { burst: 5, perSecond: 0.5 },
        history: { retentionSeconds: 0, limit: 7 },
        presence: { notices: false, nameLimit: 3 },
      },
      "dev",
    );
    assert.deepEqual(handlerEnvironment(settings, NAMES), {
      TABLE_NAME: "chat-connections",
      HISTORY_TABLE_NAME: "chat-history",
      MANAGEMENT_ENDPOINT: "https://api.example/dev",
      CONNECTION_TTL_SECONDS: "900",
      MESSAGE_ROUTE: "pushmessage",
      ROUTE_SELECTION_EXPRESSION: "$request.body.message",
      RATE_LIMIT_BURST: "5",
      RATE_LIMIT_PER_SECOND: "0.5",
      HISTORY_RETENTION_SECONDS: "0",
      HISTORY_LIMIT: "7",
      PRESENCE_NOTICES: "false",
      PRESENCE_NAME_LIMIT: "3",
    });
  });
});
