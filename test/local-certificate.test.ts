import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { LocalCertificate, localCertificate } from "../local/certificate";
import { writeBundle } from "../local/lambda-runtime";
import { TEST_CREDENTIALS, TEST_REGION } from "./support/dynamo";
import { websocketEvent } from "./support/handlers";
import { chatRoutes, useLocalGateway } from "./support/local-gateway";
import { PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

const run = promisify(execFile);

// The default handler replies to its sender through @connections: the shortest real post.
const INVOKE = `
const [bundlePath, event] = process.argv.slice(1);
const { handler } = await import(bundlePath);
await handler(JSON.parse(event));
`;

describe("local gateway over TLS (local/certificate.ts)", function () {
  this.timeout(2 * STARTUP_MS);
  const harness = useLocalGateway();
  let certificate: LocalCertificate;
  let dir: string;
  let caFile: string;

  before(async function () {
    certificate = await within(STARTUP_MS, "a certificate to be made", localCertificate());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-tls-"));
    caFile = path.join(dir, "ca.pem");
    fs.writeFileSync(caFile, certificate.ca);
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the default bundle on `event` in a fresh Node, with `env`; resolves with its logs. */
  async function defaultHandler(event: unknown, env: Record<string, string>): Promise<string> {
    const bundlePath = await writeBundle("default", dir);
    const { stdout, stderr } = await run(
      process.execPath,
      ["--input-type=module", "-e", INVOKE, bundlePath, JSON.stringify(event)],
      {
        timeout: STARTUP_MS,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: TEST_REGION,
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
          MANAGEMENT_ENDPOINT: harness.gateway.managementEndpoint,
          ...env,
        },
      },
    );
    return stdout + stderr;
  }

  it("serves wss:// and https:// on one port, and says https in X-Forwarded-Proto", async function () {
    await harness.start(chatRoutes, { tls: certificate });
    assert.match(harness.gateway.url, /^wss:\/\/127\.0\.0\.1:\d+\/dev$/);
    assert.match(harness.gateway.managementEndpoint, /^https:\/\/127\.0\.0\.1:\d+\/dev$/);
    await harness.connect(harness.gateway.url, { ca: certificate.ca });
    const connect = await harness.integrations.next("$connect");
    assert.equal(connect.headers?.["X-Forwarded-Proto"], "https");
  });

  it("a client that does not trust the certificate's authority cannot connect", async function () {
    await harness.start(chatRoutes, { tls: certificate });
    await assert.rejects(harness.connect(), /self-signed|unable to verify|UNABLE_TO_VERIFY/i);
  });

  it("a handler trusts it through NODE_EXTRA_CA_CERTS alone, as it would trust a private CA", async function () {
    await harness.start(chatRoutes, { tls: certificate });
    const client = await harness.connect(harness.gateway.url, { ca: certificate.ca });
    const id = (await harness.integrations.next("$connect")).requestContext.connectionId;
    await defaultHandler(websocketEvent("MESSAGE", "$default", id, "hello?"), {
      NODE_EXTRA_CA_CERTS: caFile,
    });
    const reply = JSON.parse(await within(PROMPTLY_MS, "the reply over https", client.next())) as {
      error?: string;
    };
    assert.equal(reply.error, "UnknownAction");
  });

  it("without NODE_EXTRA_CA_CERTS the handler's post fails verification and is logged", async function () {
    await harness.start(chatRoutes, { tls: certificate });
    const client = await harness.connect(harness.gateway.url, { ca: certificate.ca });
    const id = (await harness.integrations.next("$connect")).requestContext.connectionId;
    const logs = await defaultHandler(websocketEvent("MESSAGE", "$default", id, "hello?"), {});
    const failed = logs
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { event?: string; errorMessage?: string })
      .find((record) => record.event === "reply_failed");
    assert.ok(failed, `no reply_failed record in: ${logs}`);
    assert.match(failed.errorMessage ?? "", /certificate/i);
    assert.deepEqual(client.pending, []);
  });
});
