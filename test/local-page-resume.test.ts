import { strict as assert } from "assert";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import { Browser } from "playwright-core";
import { IDLE_TIMEOUT_MS, MAX_FRAME_BYTES } from "../handlers/lib/limits";
import { LocalChat, startLocalChat } from "../local/chat";
import { PageServer, startPageServer } from "../local/page-server";
import { launchChromium } from "./support/browser";
import { CapturedLog } from "./support/captured-log";
import { ChatPage, PageDocument } from "./support/chat-page";
import { TcpProxy } from "./support/tcp-proxy";
import { STARTUP_MS, within } from "./support/within";

declare const document: PageDocument;

// A page retrying with backoff (0.5, 1, 2, 4 s...) reconnects within this long of the network
// coming back after a few seconds away.
const RECONNECT_MS = 20_000;

/**
 * The chat page across a network cut: one page's connection runs through a TCP proxy the test
 * severs (no close frame, and no way back in) while the other page keeps chatting.
 */
describe("the chat page across a network cut, in headless Chromium against local mode", function () {
  this.timeout(90_000);
  let browser: Browser;
  let chat: LocalChat;
  let pages: PageServer;
  let proxy: TcpProxy;
  let projectDir: string;
  const logs = new CapturedLog();
  const open: ChatPage[] = [];

  before(async function () {
    this.timeout(STARTUP_MS * 2);
    projectDir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-page-resume-"));
    await fs.writeFile(
      path.join(projectDir, "Pulumi.yaml"),
      "name: websocket-chat\nruntime: nodejs\n",
    );
    [browser, chat] = await Promise.all([
      launchChromium(),
      startLocalChat({ port: 0, projectDir, stage: "dev", functionLog: logs.write }),
    ]);
    pages = await startPageServer({
      port: 0,
      config: () => ({
        url: chat.url,
        routeSelectionExpression: chat.routeSelectionExpression,
        messageRoute: chat.messageRoute,
        maxFrameBytes: MAX_FRAME_BYTES,
        idleTimeoutSeconds: IDLE_TIMEOUT_MS / 1000,
      }),
    });
    proxy = await TcpProxy.start(chat.gateway.port);
  });
  afterEach(async function () {
    for (const page of open) {
      assert.deepEqual(page.errors, [], `${page.label}: script errors`);
      assert.deepEqual(page.dialogs, [], `${page.label}: dialogs`);
    }
    await Promise.all(open.splice(0).map((page) => page.close()));
  });
  after(async function () {
    await browser?.close();
    await proxy?.stop();
    await pages?.close();
    await chat?.close();
    if (projectDir) await fs.rm(projectDir, { recursive: true, force: true });
  });

  async function join(room: string, name: string, url?: string): Promise<ChatPage> {
    const query = new URLSearchParams({ room, name, ...(url ? { url } : {}) });
    const page = await ChatPage.open(browser, `${pages.url}?${query.toString()}`);
    open.push(page);
    await page.waitForState("connected");
    return page;
  }

  /** Waits, longer than `waitUntil` does, for `check` in the page. */
  async function waitLong<A>(page: ChatPage, what: string, check: (arg: A) => boolean, arg?: A) {
    await within(
      RECONNECT_MS,
      `${page.label}: ${what}`,
      page.page.waitForFunction(check as (arg: unknown) => boolean, arg as unknown, {
        timeout: RECONNECT_MS,
      }),
    );
  }

  /** The texts of the messages on screen, in order, once none is waiting for its ack. */
  async function settledTexts(page: ChatPage, count: number): Promise<string[]> {
    await waitLong(
      page,
      `${count} messages, none of them pending`,
      (n) =>
        [...document.querySelectorAll("#messages li.message")].length === n &&
        [...document.querySelectorAll("#messages li.pending")].length === 0,
      count,
    );
    return (await page.messages()).map((m) => m.text);
  }

  it("one page cut off while the other sends 20 and it sends 3: back online, both show the same 23 once, in one order", async function () {
    const gatewayPort = String(chat.gateway.port);
    const viaProxy = chat.url.replace(`:${gatewayPort}/`, `:${proxy.port}/`);
    const ana = await join("cut", "ana");
    const ben = await join("cut", "ben", viaProxy);
    await ana.type("before the cut");
    await ben.waitForMessage("before the cut", "ana");
    await ben.waitUntil("ana in ben's list", () =>
      [...document.querySelectorAll("#people li")].some((li) => li.dataset.name === "ana"),
    );

    proxy.sever();
    await ben.waitForState("reconnecting");
    assert.deepEqual(await ben.people().then((p) => p.count), "(?)", "presence is unknown");
    for (let i = 1; i <= 20; i++) await ana.type(`from ana ${i}`);
    for (let i = 1; i <= 3; i++) await ben.type(`from ben ${i}`);
    // Typed offline: shown at once, marked as waiting, the box free for the next one.
    assert.deepEqual(await ben.page.$$eval("#messages li.pending", (items) => items.length), 3);
    assert.match(
      await ben.page.$eval("#messages li.pending .mark", (el) => el.textContent ?? ""),
      /waiting for the connection/,
    );
    assert.equal(await ben.messageBox(), "");
    assert.equal(await ben.messageError(), "", "no error for a message that waits");
    await settledTexts(ana, 21);

    proxy.restore();
    await waitLong(
      ben,
      "the connection back",
      () => document.getElementById("status").dataset.state === "connected",
    );
    const [anaSees, benSees] = [await settledTexts(ana, 24), await settledTexts(ben, 24)];
    assert.deepEqual(benSees, anaSees, "the same messages in the same order");
    assert.equal(new Set(anaSees).size, 24, "each once");
    assert.deepEqual(
      [...anaSees].sort(),
      [
        "before the cut",
        ...Array.from({ length: 20 }, (_, i) => `from ana ${i + 1}`),
        ...Array.from({ length: 3 }, (_, i) => `from ben ${i + 1}`),
      ].sort(),
    );
    // Ben's own: marked as his and sent; presence known again.
    const own = (await ben.messages()).filter((m) => m.own).map((m) => m.text);
    assert.deepEqual(own.sort(), ["from ben 1", "from ben 2", "from ben 3"]);
    await ben.waitUntil("presence known again", () =>
      /^\(\d+\)$/.test(document.getElementById("people-count").textContent ?? ""),
    );
    // Nothing lost is claimed: the resume was complete.
    assert.equal(await ben.page.$$eval("#messages li.gap", (items) => items.length), 0);
  });
});
