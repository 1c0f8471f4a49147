import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { LocalChat, LocalChatOptions, startLocalChat } from "../local/chat";
import { refusedUpgradeStatus, TestClient } from "./support/local-clients";
import { TestIssuer } from "./support/oidc-issuer";
import { eventually, PROMPTLY_MS, STARTUP_MS, within } from "./support/within";

/**
 * Access control and the message rate limit in local mode, end to end: the deployable bundles
 * (authorizer included) behind the local gateway, configured from a stack's Pulumi files as
 * `pulumi up` would be. Every line the gateway and the functions log is kept and checked for
 * tokens and message bodies.
 */

const TOKEN = "local-Access-Token-0123456789";
const BODY = "the-secret-plans-for-tuesday";

class ChatUnderTest {
  readonly logs: string[] = [];
  private readonly clients: TestClient[] = [];
  private readonly dirs: string[] = [];
  chat?: LocalChat;

  /** A project directory whose stack `test` has `config` (keys without the project prefix). */
  async projectDir(config: Record<string, string | { secure: string }>): Promise<string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-access-"));
    this.dirs.push(dir);
    await fs.copyFile(path.resolve(__dirname, "..", "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const lines = Object.entries(config).map(([key, value]) =>
      typeof value === "string"
        ? `  websocket-chat:${key}: ${JSON.stringify(value)}`
        : `  websocket-chat:${key}:\n    secure: ${value.secure}`,
    );
    await fs.writeFile(path.join(dir, "Pulumi.test.yaml"), ["config:", ...lines, ""].join("\n"));
    return dir;
  }

  async start(
    config: Record<string, string | { secure: string }>,
    options: Partial<LocalChatOptions> = {},
  ): Promise<LocalChat> {
    this.chat = await within(
      STARTUP_MS,
      "the local chat to start",
      startLocalChat({
        port: 0,
        stack: "test",
        projectDir: await this.projectDir(config),
        log: (line) => this.logs.push(line),
        functionLog: (line) => this.logs.push(line),
        ...options,
      }),
    );
    return this.chat;
  }

  url(query = ""): string {
    return `${this.chat!.url}${query}`;
  }

  async connect(query = "", headers?: Record<string, string>): Promise<TestClient> {
    const client = await within(
      PROMPTLY_MS,
      "the upgrade",
      TestClient.connect(this.url(query), { headers }),
    );
    this.clients.push(client);
    return client;
  }

  /** Waits (a few seconds at most) for a logged line containing `text`. */
  async logged(text: string): Promise<void> {
    await eventually(`a log line with "${text}"`, () =>
      this.logs.some((line) => line.includes(text)),
    ).catch((err: Error) => {
      throw new Error(`${err.message}:\n${this.logs.join("\n")}`);
    });
  }

  /** No line logged anywhere holds any of `secrets`. */
  assertLogsFreeOf(...secrets: string[]): void {
    assert.ok(this.logs.length > 0, "something was logged");
    for (const line of this.logs)
      for (const secret of secrets) assert.ok(!line.includes(secret), `logged: ${line}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.close()));
    await within(STARTUP_MS, "the local chat to stop", this.chat?.close() ?? Promise.resolve());
    this.chat = undefined;
    await Promise.all(
      this.dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })),
    );
  }
}

describe("local mode: access control on $connect (real authorizer bundle)", function () {
  this.timeout(60_000);
  const underTest = new ChatUnderTest();
  afterEach(() => underTest.stop());

  describe("with a shared access token", () => {
    beforeEach(() => underTest.start({ accessToken: TOKEN }));

    it("refuses a client without the token, or with a wrong one, with 401", async () => {
      assert.equal(await refusedUpgradeStatus(underTest.url()), 401);
      assert.equal(await refusedUpgradeStatus(underTest.url("?token=wrong-token-000000000")), 401);
      assert.deepEqual(underTest.chat!.gateway.connectionIds(), []);
    });

    it("leaves names to the clients: a shared token says nothing about who holds it", async () => {
      const ada = await underTest.connect(`?token=${TOKEN}&room=shared&name=Ada`);
      await ada.send(JSON.stringify({ action: "who" }));
      const presence = JSON.parse(await within(PROMPTLY_MS, "the who reply", ada.next()));
      assert.deepEqual(presence.names, ["Ada"]);
    });

    it("lets in the token from ?token= and from Authorization: Bearer, and they chat", async () => {
      const ada = await underTest.connect(`?token=${TOKEN}`);
      const bob = await underTest.connect("", { Authorization: `Bearer ${TOKEN}` });
      await ada.send(JSON.stringify({ action: "sendmessage", data: BODY }));
      assert.equal(await within(PROMPTLY_MS, "ada's copy", ada.next()), BODY);
      assert.equal(await within(PROMPTLY_MS, "bob's copy", bob.next()), BODY);
      // Neither the token nor the message body is in any line the gateway or a function logged.
      await underTest.logged("broadcast");
      await underTest.logged("connect_authorized");
      underTest.assertLogsFreeOf(TOKEN, BODY);
    });
  });

  describe("with a token holding +, /, = and %", () => {
    const TRICKY = "q+Zk/8Wm%41aX+1v/Ty0pL9e4r==";
    const BASE64 = "q+Zk/8Wm3aX+1v/Ty0pL9e4r+Hs2Nc7u/Jd5oQbFgiE=";

    it("lets it in percent-encoded in ?token= and as it is in the header", async () => {
      await underTest.start({ accessToken: TRICKY });
      await underTest.connect(`?token=${encodeURIComponent(TRICKY)}&room=r`);
      await underTest.connect("", { Authorization: `Bearer ${TRICKY}` });
      assert.equal(await refusedUpgradeStatus(underTest.url(`?token=${TRICKY}`)), 401);
    });

    it("lets in a base64 token pasted into the URL unencoded", async () => {
      await underTest.start({ accessToken: BASE64 });
      await underTest.connect(`?token=${BASE64}`);
    });

    it("connects with the README's own commands, which encode the token they put in the URL", async () => {
      await underTest.start({ accessToken: TRICKY });
      const { url, header } = await readmeConnections(underTest.chat!.url, TRICKY);
      const client = await within(PROMPTLY_MS, "the upgrade", TestClient.connect(url));
      await client.close();
      await underTest.connect("", header);
    });
  });

  it("refuses to start on a secret accessToken it cannot decrypt, saying how to pass it", async () => {
    await assert.rejects(
      underTest.start({ accessToken: { secure: "AAABAKJuVv2mJ6Qz" } }),
      /accessToken is a secret in Pulumi\.test\.yaml.*CHAT_ACCESS_TOKEN/,
    );
    await underTest.start({ accessToken: { secure: "AAABAKJuVv2mJ6Qz" } }, { accessToken: TOKEN });
    await underTest.connect(`?token=${TOKEN}`);
  });

  describe("with JWTs from an OIDC issuer", () => {
    let issuer: TestIssuer;
    before(async () => {
      issuer = await TestIssuer.start();
    });
    after(() => issuer.stop());
    beforeEach(() =>
      underTest.start({ authIssuer: issuer.url, authAudience: TestIssuer.AUDIENCE }),
    );

    it("names each client as its token does, whatever its ?name= says", async () => {
      const token = await issuer.token({ subject: "u-ada", claims: { name: "Ada Lovelace" } });
      const ada = await underTest.connect(`?room=signed&name=Mallory`, {
        Authorization: `Bearer ${token}`,
      });
      await ada.send(JSON.stringify({ action: "who" }));
      const presence = JSON.parse(await within(PROMPTLY_MS, "the who reply", ada.next()));
      assert.deepEqual(presence.names, ["Ada Lovelace"]);
    });

    it("lets in a valid token and refuses an expired one with 401, logging neither", async () => {
      const valid = await issuer.token({ subject: "ada" });
      const expired = await issuer.token({ subject: "bob", expiresIn: -10 });
      assert.equal(await refusedUpgradeStatus(underTest.url(`?token=${expired}`)), 401);
      const ada = await underTest.connect("", { Authorization: `Bearer ${valid}` });
      await ada.send(JSON.stringify({ action: "sendmessage", data: BODY }));
      assert.equal(await within(PROMPTLY_MS, "ada's copy", ada.next()), BODY);
      await underTest.logged("ERR_JWT_EXPIRED");
      await underTest.logged("broadcast");
      underTest.assertLogsFreeOf(valid.split(".")[2], expired.split(".")[2], BODY);
    });
  });
});

describe("local mode: the per-connection message rate limit", function () {
  this.timeout(60_000);
  const underTest = new ChatUnderTest();
  afterEach(() => underTest.stop());

  const send = (client: TestClient, data: string) =>
    client.send(JSON.stringify({ action: "sendmessage", data }));

  /** The next `count` frames `client` receives. */
  async function frames(client: TestClient, count: number, whose: string): Promise<string[]> {
    const received: string[] = [];
    for (let i = 0; i < count; i++)
      received.push(
        await within(PROMPTLY_MS, `${whose} frame ${i + 1} of ${count}`, client.next()),
      );
    return received;
  }

  it("broadcasts a burst, answers the rest with RateLimited to the sender only, and lets it send again when told", async () => {
    // 1 a second: the five messages would have to arrive a second apart for a token to come
    // back in between, even on a loaded machine.
    await underTest.start({ messageRateBurst: "3", messageRatePerSecond: "1" });
    const [flooder, bystander] = [await underTest.connect(), await underTest.connect()];
    await Promise.all(["m1", "m2", "m3", "m4", "m5"].map((data) => send(flooder, data)));

    const toFlooder = await frames(flooder, 5, "the flooder's");
    const errors = toFlooder.filter((frame) => frame.startsWith("{")).map((f) => JSON.parse(f));
    assert.equal(errors.length, 2, toFlooder.join(" | "));
    for (const error of errors) {
      assert.equal(error.error, "RateLimited");
      // One interval (1 s), give or take how far apart the five were stamped, since each is
      // told relative to its own send time.
      assert.ok(error.retryAfterMs > 0 && error.retryAfterMs < 2000, String(error.retryAfterMs));
      assert.match(error.message, /at most 3 at once, then 1 a second.*again in [012]\.\d s/);
    }
    const delivered = toFlooder.filter((frame) => !frame.startsWith("{")).sort();
    assert.equal(delivered.length, 3);
    assert.deepEqual((await frames(bystander, 3, "the bystander's")).sort(), delivered);
    assert.deepEqual(bystander.pending, [], "the bystander got no error and no fourth message");

    // Told when to retry, the sender is heard again then.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(...errors.map((e) => e.retryAfterMs)) + 50),
    );
    await send(flooder, "m6");
    assert.equal(await within(PROMPTLY_MS, "the bystander's m6", bystander.next()), "m6");
  });

  it("keeps each connection's allowance its own", async () => {
    await underTest.start({ messageRateBurst: "2", messageRatePerSecond: "1" });
    const [ada, bob] = [await underTest.connect(), await underTest.connect()];
    await Promise.all(["a1", "a2", "a3"].map((data) => send(ada, data)));
    await frames(ada, 3, "ada's");
    await send(bob, "b1");
    const toBob = await frames(bob, 3, "bob's");
    assert.ok(toBob.includes("b1"), toBob.join(" | "));
  });

  it("does not limit anyone when messageRateBurst is 0", async () => {
    await underTest.start({ messageRateBurst: "0" });
    const [ada, bob] = [await underTest.connect(), await underTest.connect()];
    const sent = Array.from({ length: 15 }, (_, i) => `n${i}`);
    await Promise.all(sent.map((data) => send(ada, data)));
    assert.deepEqual((await frames(bob, 15, "bob's")).sort(), sent.slice().sort());
    assert.deepEqual(underTest.chat!.environment.RATE_LIMIT_BURST, "0");
  });
});

/**
 * The README's access-control commands from `token=` on, run by bash with `pulumi` answering
 * `url` and `token` and `wscat` recording what it was given: the URL of the `?token=` command
 * and the header of the other.
 */
async function readmeConnections(
  url: string,
  token: string,
): Promise<{ url: string; header: Record<string, string> }> {
  const readme = await fs.readFile(path.resolve(__dirname, "..", "README.md"), "utf8");
  const block = /\n(token="\$\(pulumi config get accessToken\)"\n(?:wscat .*\n)+)/.exec(readme);
  assert.ok(block, "the README's access-control commands");
  const bin = await fs.mkdtemp(path.join(os.tmpdir(), "readme-bin-"));
  try {
    const stub = async (name: string, body: string) => {
      await fs.writeFile(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    };
    await stub(
      "pulumi",
      `case "$*" in "stack output url") echo '${url}';; "config get accessToken") printf '%s\\n' '${token}';; *) exit 2;; esac`,
    );
    await stub("wscat", `printf '%s\\n' "$@" >> '${bin}/wscat-args'`);
    execFileSync("bash", ["-euc", block[1]], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    const args = (await fs.readFile(path.join(bin, "wscat-args"), "utf8")).split("\n");
    const [name, value] = args[args.indexOf("-H") + 1].split(/: (.*)/);
    return { url: args[1], header: { [name]: value } };
  } finally {
    await fs.rm(bin, { recursive: true, force: true });
  }
}
