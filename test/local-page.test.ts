import { strict as assert } from "assert";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { Browser } from "playwright-core";
import { IDLE_TIMEOUT_MS, MAX_FRAME_BYTES } from "../handlers/lib/limits";
import { LocalChat, LocalChatOptions, startLocalChat } from "../local/chat";
import { PageServer, startPageServer } from "../local/page-server";
import { launchChromium } from "./support/browser";
import { CapturedLog } from "./support/captured-log";
import { ChatPage, PageDocument, PageWindow } from "./support/chat-page";
import { Running, startWscat } from "./support/processes";
import { PROMPTLY_MS } from "./support/within";

// `UPDATE_SCREENSHOTS=1 npx mocha test/local-page.test.ts` refreshes the README's pictures;
// otherwise they go to a temporary directory (still taken, so that path is always exercised).
const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS
  ? path.resolve(__dirname, "..", "docs")
  : path.join(os.tmpdir(), "chat-page-screenshots");
declare const document: PageDocument;
declare const window: PageWindow;

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** A chat and the page server in front of it, as `npm start` runs them. */
class LocalSetup {
  private constructor(
    public chat: LocalChat,
    readonly page: PageServer,
    private readonly options: LocalChatOptions,
  ) {}

  /** The handlers' log lines: kept here, out of mocha's output. */
  static readonly log = new CapturedLog();

  static async start(options: LocalChatOptions): Promise<LocalSetup> {
    const chat = await startLocalChat({ port: 0, functionLog: LocalSetup.log.write, ...options });
    let setup: LocalSetup | undefined = undefined;
    const page = await startPageServer({
      port: 0,
      // Read at each request: after a restart the page gets the new gateway.
      config: () => ({
        url: setup!.chat.url,
        routeSelectionExpression: setup!.chat.routeSelectionExpression,
        messageRoute: setup!.chat.messageRoute,
        maxFrameBytes: MAX_FRAME_BYTES,
        idleTimeoutSeconds: IDLE_TIMEOUT_MS / 1000,
      }),
    });
    setup = new LocalSetup(chat, page, options);
    return setup;
  }

  /** The page's address for `room` and `name`, with any other query given. */
  address(room: string, name: string, extra: Record<string, string> = {}): string {
    return `${this.page.url}?${new URLSearchParams({ room, name, ...extra }).toString()}`;
  }

  /** Stops the chat (every client sees its connection close) and starts it on the same port. */
  async restartChat(): Promise<void> {
    const port = this.chat.gateway.port;
    await this.chat.close();
    this.chat = await startLocalChat({ ...this.options, functionLog: LocalSetup.log.write, port });
  }

  async close(): Promise<void> {
    await Promise.all([this.page.close(), this.chat.close()]);
  }
}

async function emptyProjectDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-page-project-"));
  await fs.writeFile(path.join(dir, "Pulumi.yaml"), "name: websocket-chat\nruntime: nodejs\n");
  return dir;
}

describe("the chat page (local/page/) in headless Chromium, against local mode", function () {
  this.timeout(60_000);
  let browser: Browser;
  let projectDir: string;
  let local: LocalSetup;
  const pages: ChatPage[] = [];
  const terminals: Running[] = [];

  before(async () => {
    projectDir = await emptyProjectDir();
    [browser, local] = await Promise.all([
      launchChromium(),
      LocalSetup.start({ projectDir, stage: "dev" }),
    ]);
  });
  afterEach(async () => {
    for (const terminal of terminals.splice(0)) terminal.kill();
    for (const page of pages) {
      assert.deepEqual(page.errors, [], `${page.label}: script errors`);
      assert.deepEqual(page.dialogs, [], `${page.label}: dialogs`);
    }
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });
  after(async () => {
    await browser?.close();
    await local?.close();
    if (projectDir) await fs.rm(projectDir, { recursive: true, force: true });
  });

  /** A page joined to `room` as `name`, connected. */
  async function join(
    room: string,
    name: string,
    options: { viewport?: { width: number; height: number }; scale?: number } = {},
    setup: LocalSetup = local,
  ): Promise<ChatPage> {
    const page = await ChatPage.open(browser, setup.address(room, name), options);
    pages.push(page);
    await page.waitForState("connected");
    return page;
  }

  /** wscat, a plain client (no subprotocol), in `room` as `name`. */
  async function terminal(
    room: string,
    name: string,
    chat = local.chat,
    extra: Record<string, string> = {},
  ): Promise<Running> {
    const query = new URLSearchParams({ room, name, ...extra }).toString();
    const wscat = startWscat(`${chat.url}?${query}`);
    terminals.push(wscat);
    await wscat.waitFor(/Connected \(press CTRL\+C to quit\)/, PROMPTLY_MS);
    return wscat;
  }

  it("two pages and a wscat terminal chat in one room; Enter sends, Shift+Enter adds a line, blank is not sent", async () => {
    const ana = await join("lobby", "Ana", { viewport: DESKTOP });
    const ben = await join("lobby", "Ben", { viewport: PHONE, scale: 2 });
    const ops = await terminal("lobby", "ops");
    await ana.waitUntil("Ben and ops in Ana's list of who is here", () =>
      ["Ben", "ops"].every((name) =>
        [...document.querySelectorAll("#people li")].some((li) => li.dataset.name === name),
      ),
    );
    assert.deepEqual((await ana.notices()).slice(-2), ["Ben joined", "ops joined"]);

    await ana.type("Hi Ben! The chat page is up.");
    await ben.waitForMessage("Hi Ben! The chat page is up.", "Ana");
    await ana.waitForMessage("Hi Ben! The chat page is up.", "Ana");
    await ops.waitFor(/< Hi Ben! The chat page is up\./, PROMPTLY_MS);

    ops.write('{"action":"sendmessage", "data":"hello from wscat"}\r');
    await ana.waitForMessage("hello from wscat", "ops");
    await ben.waitForMessage("hello from wscat", "ops");

    // Blank is not sent: the next thing the terminal receives is Ben's two-line message.
    await ben.type("   ");
    assert.equal(await ben.messageBox(), "   ", "a blank message stays in the box");
    await ben.page.getByLabel("Message", { exact: true }).fill("");
    await ben.type("Nice. Shift+Enter gives\na second line.");
    await ana.waitForMessage("Nice. Shift+Enter gives\na second line.", "Ben");
    const received = await ops.waitFor(/< hello from wscat\n([^]*?)< Nice/, PROMPTLY_MS);
    assert.doesNotMatch(received[1], /</, "wscat received nothing between the two messages");
    assert.equal(await ben.messageBox(), "", "the box is emptied once sent");

    assert.deepEqual(
      (await ana.messages()).map(({ from, own }) => [from, own]),
      [
        ["Ana", true],
        ["ops", false],
        ["Ben", false],
      ],
    );
    assert.deepEqual(
      (await ben.messages()).map(({ from, own }) => [from, own]),
      [
        ["Ana", false],
        ["ops", false],
        ["Ben", true],
      ],
    );
    // The live region announced what others said, not what Ana said herself.
    const announced = await ana.announced();
    assert.ok(announced.includes("ops: hello from wscat"), JSON.stringify(announced));
    assert.ok(!announced.some((line) => line.startsWith("Ana:")), JSON.stringify(announced));

    // Layout: nothing wider than the screen, and the box and its button in view, at both widths.
    for (const page of [ana, ben]) {
      const layout = await page.page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        send: document.getElementById("send").getBoundingClientRect().bottom,
        height: window.innerHeight,
      }));
      assert.ok(layout.overflow <= 0, `${page.label}: ${layout.overflow}px wider than the screen`);
      assert.ok(layout.send <= layout.height, `${page.label}: the Send button is off screen`);
    }
    await fs.mkdir(SCREENSHOT_DIR, { recursive: true });
    await ana.page.screenshot({ path: path.join(SCREENSHOT_DIR, "chat-desktop.png") });
    await ben.page.screenshot({ path: path.join(SCREENSHOT_DIR, "chat-phone.png") });
  });

  it("shows <img src=x onerror=alert(1)> and other markup from anyone as text, running nothing", async () => {
    const payload = "<img src=x onerror=alert(1)>";
    const hostileName = "<img src=y onerror=alert(2)>";
    const alice = await join("xss", "alice");
    const bob = await join("xss", "bob");
    const mallory = await terminal("xss", hostileName);
    await bob.waitUntil(
      "mallory's markup name in the list of who is here",
      (name) => [...document.querySelectorAll("#people li")].some((li) => li.dataset.name === name),
      hostileName,
    );

    await alice.type(payload);
    mallory.write(
      JSON.stringify({ action: "sendmessage", data: "<script>alert(3)</script>" }) + "\r",
    );
    mallory.write(JSON.stringify({ action: "sendmessage", data: { html: "<b>bold</b>" } }) + "\r");
    await bob.waitForMessage(payload, "alice");
    await bob.waitForMessage("<script>alert(3)</script>", hostileName);
    await bob.waitForMessage('{"html":"<b>bold</b>"}', hostileName);
    for (const page of [alice, bob]) {
      const elements = await page.page.evaluate(() =>
        [...document.querySelectorAll("img, script, b")].map((el) => el.outerHTML),
      );
      // The page's own module script is the only script; no image or bold text at all.
      assert.deepEqual(elements, ['<script type="module" src="chat.mjs"></script>'], page.label);
    }
    // Give an injected handler the chance to run before afterEach checks for dialogs.
    await bob.page.waitForTimeout(300);
  });

  it("a page that joins late sees the room's history, oldest first", async () => {
    const alice = await join("history", "alice");
    await alice.type("first");
    await alice.waitForMessage("first", "alice");
    await alice.type("second");
    await alice.waitForMessage("second", "alice");

    const carol = await join("history", "carol");
    await carol.waitForMessage("second", "alice");
    assert.deepEqual(await carol.messages(), [
      { from: "alice", text: "first", own: false },
      { from: "alice", text: "second", own: false },
    ]);
  });

  it("keeps rooms apart, and switching rooms from the form reconnects to the new room", async () => {
    const alice = await join("red", "alice");
    const bob = await join("blue", "bob");
    await bob.type("only blue");
    await bob.waitForMessage("only blue", "bob");
    await alice.type("only red");
    await alice.waitForMessage("only red", "alice");
    await bob.page.waitForTimeout(200);
    assert.deepEqual(
      (await alice.messages()).map((m) => m.text),
      ["only red"],
    );
    assert.deepEqual(
      (await bob.messages()).map((m) => m.text),
      ["only blue"],
    );
    assert.deepEqual((await alice.people()).names, ["alice"]);

    // Keyboard only: the Room field, then Enter submits the form.
    await alice.page.getByLabel("Room", { exact: true }).fill("blue");
    await alice.page.getByLabel("Room", { exact: true }).press("Enter");
    await alice.waitForMessage("only blue", "bob");
    await alice.waitForState("connected");
    assert.deepEqual(
      (await alice.messages()).map((m) => m.text),
      ["only blue"],
    );
    assert.match(await alice.statusText(), /Connected to blue as alice/);
    assert.match(alice.page.url(), /[?&]room=blue(&|$)/, "the address keeps the room");
    await bob.waitUntil("alice's arrival in blue", () =>
      [...document.querySelectorAll("#people li")].some((li) => li.dataset.name === "alice"),
    );
  });

  it("refuses a 40 KB message before sending, with the reason; counts UTF-8 bytes of the whole frame", async () => {
    const alice = await join("size", "alice");
    const bob = await join("size", "bob");
    const box = alice.page.getByLabel("Message", { exact: true });

    await alice.paste("x".repeat(40 * 1024));
    assert.match(
      await alice.messageError(),
      /Too long to send: 41,03\d bytes, .*over 32 KB \(32,768 bytes\)/,
    );
    assert.equal((await alice.messageBox()).length, 40 * 1024, "the text stays in the box");
    assert.equal(await box.getAttribute("aria-invalid"), "true");

    // 16,384 characters, but 32,768 bytes of UTF-8 and more with the frame around them.
    await alice.paste("é".repeat(16_384));
    assert.match(await alice.messageError(), /Too long to send: 32,83\d bytes/);

    // `{"action":"sendmessage","data":"…","clientId":"<22 characters>"}` is 70 bytes around
    // the text: 32,698 fill one frame.
    await alice.paste("y".repeat(32_699));
    assert.match(await alice.messageError(), /Too long to send: 32,769 bytes/);
    await alice.paste("y".repeat(32_698));
    await bob.waitForMessage("y".repeat(32_698), "alice");
    assert.equal(await alice.messageError(), "");
    assert.equal(await box.getAttribute("aria-invalid"), null);
    assert.equal(await alice.state(), "connected", "a frame at the limit keeps the connection");
    assert.equal((await bob.messages()).length, 1, "nothing refused reached bob");
  });

  it("recovers by itself after the gateway restarts on the same port, without asking for a token", async () => {
    const alice = await join("restart", "alice");
    const bob = await join("restart", "bob");
    await local.restartChat();
    await alice.waitUntil("a reconnect after the restart", () =>
      /Connection lost|Reconnecting/.test(document.getElementById("status-text").textContent ?? ""),
    );
    await alice.waitForState("connected");
    await bob.waitForState("connected");
    for (const page of [alice, bob]) {
      assert.equal(
        await page.page.locator("#token-form").isHidden(),
        true,
        `${page.label}: no token prompt for an outage`,
      );
    }
    await alice.type("back again");
    await bob.waitForMessage("back again", "alice");
  });

  it("shows the server's errors as errors, apart from the chat", async () => {
    // A route key the stack does not have: the message reaches $default, which answers an error.
    const page = await ChatPage.open(
      browser,
      local.address("errors", "alice", { routeKey: "nosuchroute" }),
    );
    pages.push(page);
    await page.waitForState("connected");
    // The page's own history and who requests are answered without an error.
    await page.waitUntil("alice in her own list of who is here", () =>
      [...document.querySelectorAll("#people li")].some((li) => li.dataset.name === "alice"),
    );
    assert.equal(await page.problem(), undefined);
    await page.type("lost words");
    await page.waitUntil("the error banner", () => !document.getElementById("problem").hidden);
    assert.match((await page.problem()) ?? "", /sendmessage/);
    assert.deepEqual(await page.messages(), [], "an error is not a chat message");
    await page.page.getByRole("button", { name: "Dismiss" }).click();
    assert.equal(await page.problem(), undefined);
  });

  it("on a stack with an access token and its own routing: asks for the token, then speaks that routing", async () => {
    const token = "s3cret/+=-a-token-of-32-characters";
    const guarded = await LocalSetup.start({
      projectDir,
      stage: "guarded",
      routeSelectionExpression: "$request.body.message",
      messageRoute: "pushmessage",
      accessToken: token,
    });
    try {
      // The authorizer refuses the upgrade (401); a browser only sees it fail, before it opened.
      const alice = await ChatPage.open(browser, guarded.address("push", "alice"));
      pages.push(alice);
      await alice.waitUntil(
        "the token prompt",
        () => !document.getElementById("token-form").hidden,
      );
      assert.equal(await alice.state(), "reconnecting");
      assert.match(await alice.statusText(), /Could not connect/);

      const field = alice.page.getByLabel("Access token");
      await field.fill(token);
      await field.press("Enter");
      await alice.waitForState("connected");
      assert.equal(await alice.page.locator("#token-form").isHidden(), true);
      const url = await alice.waitForSocket("a connection with the token", (u) =>
        u.includes("token="),
      );
      assert.equal(new URL(url).searchParams.get("token"), token);
      assert.doesNotMatch(alice.page.url(), /s3cret/, "the token stays out of the address");

      // `who` went out as {"message":"who"}: the count of who is here came back. (The names are
      // the authorizer's when it gives one, so they are not asserted here.)
      await alice.waitUntil(
        "the count of who is here",
        () => document.getElementById("people-count").textContent === "(1)",
      );
      const ops = await terminal("push", "ops", guarded.chat, { token });
      await alice.type("routed by message");
      await ops.waitFor(/< routed by message/, PROMPTLY_MS);
      ops.write('{"message":"pushmessage", "data":"pushed from wscat"}\r');
      await alice.waitForMessage("pushed from wscat");
      assert.deepEqual(
        (await alice.messages()).map(({ text, own }) => [text, own]),
        [
          ["routed by message", true],
          ["pushed from wscat", false],
        ],
      );
    } finally {
      await guarded.close();
    }
  });
});
