import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { strict as assert } from "assert";
import { ConnectionPostSigner, SigningCredentials } from "../handlers/lib/sigv4";

const BODY = Buffer.from('{"text":"hello world"}');
const TOKEN_CREDENTIALS: SigningCredentials = {
  accessKeyId: "ASIAEXAMPLEKEY",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE+token/with==",
};
const LONG_TERM_CREDENTIALS: SigningCredentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "secret",
};

/** What the SDK's own SigV4 signer produces for the same POST at the same time. */
async function sdkSignature(
  endpoint: string,
  region: string,
  credentials: SigningCredentials,
  connectionId: string,
  when: Date,
) {
  const url = new URL(endpoint);
  const client = new ApiGatewayManagementApiClient({ endpoint, region, credentials });
  const signer = await client.config.signer();
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      // As the SDK's serializer builds it: the stage, the literal @connections, the id encoded.
      path: `${url.pathname.replace(/\/$/, "")}/@connections/${encodeURIComponent(connectionId)}`,
      query: {},
      headers: {
        host,
        "content-type": "application/octet-stream",
        "content-length": String(BODY.length),
      },
      body: BODY,
    },
    { signingDate: when },
  );
  return { path: signed.path, headers: signed.headers };
}

describe("SigV4 for @connections posts", function () {
  const cases = [
    {
      what: "Lambda session credentials, a stage path",
      endpoint: "https://abc123.execute-api.ap-northeast-1.amazonaws.com/dev",
      region: "ap-northeast-1",
      credentials: TOKEN_CREDENTIALS,
    },
    {
      what: "long-term credentials, a local port",
      endpoint: "http://127.0.0.1:3001/local",
      region: "us-east-1",
      credentials: LONG_TERM_CREDENTIALS,
    },
    {
      what: "a custom domain with a base path",
      endpoint: "https://chat.example.com/api/v1/",
      region: "eu-west-1",
      credentials: TOKEN_CREDENTIALS,
    },
  ];
  const ids = ["R1kmxc2VNjMCFIA=", "a+b/c=", "plain"];
  const when = new Date("2026-11-24T17:30:05.123Z");

  for (const { what, endpoint, region, credentials } of cases) {
    it(`signs exactly as the SDK's signer does (${what})`, async function () {
      const url = new URL(endpoint);
      const signer = new ConnectionPostSigner(
        url.pathname,
        url.port ? `${url.hostname}:${url.port}` : url.hostname,
        region,
        BODY,
      );
      for (const id of ids) {
        const ours = signer.sign(id, credentials, when);
        const sdk = await sdkSignature(endpoint, region, credentials, id, when);
        assert.equal(ours.path, sdk.path.replace(/\/\/+/g, "/"), id);
        assert.equal(ours.headers.authorization, sdk.headers.authorization, id);
        assert.equal(ours.headers["x-amz-date"], sdk.headers["x-amz-date"], id);
        assert.equal(ours.headers["x-amz-security-token"], sdk.headers["x-amz-security-token"], id);
        assert.equal(ours.headers["x-amz-content-sha256"], sdk.headers["x-amz-content-sha256"], id);
      }
    });
  }

  it("derives a new signing key when the day or the credentials change", async function () {
    const endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/dev";
    const signer = new ConnectionPostSigner(
      "/dev",
      "abc123.execute-api.us-east-1.amazonaws.com",
      "us-east-1",
      BODY,
    );
    const rotated = {
      ...TOKEN_CREDENTIALS,
      secretAccessKey: "rotated-secret",
      sessionToken: "new-token",
    };
    const nextDay = new Date("2026-11-25T00:00:01Z");
    for (const [credentials, date] of [
      [TOKEN_CREDENTIALS, when],
      [TOKEN_CREDENTIALS, nextDay],
      [rotated, nextDay],
    ] as const) {
      const ours = signer.sign("R1kmxc2VNjMCFIA=", credentials, date);
      const sdk = await sdkSignature(endpoint, "us-east-1", credentials, "R1kmxc2VNjMCFIA=", date);
      assert.equal(ours.headers.authorization, sdk.headers.authorization);
    }
  });
});
