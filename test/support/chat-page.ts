import { Browser, BrowserContext, Page } from "playwright-core";

// What tests read in the page. The tests compile without the DOM library (it would retype
// Node's timers for every file), so each file that runs code in the page declares
// `document` and `window` with these types: `declare const document: PageDocument;`.
export interface PageElement {
  textContent: string | null;
  outerHTML: string;
  hidden: boolean;
  dataset: Record<string, string | undefined>;
  classList: { contains(name: string): boolean };
  querySelector(selector: string): PageElement | null;
  getBoundingClientRect(): { top: number; bottom: number; left: number; right: number };
}
export interface PageDocument {
  documentElement: PageElement & { scrollWidth: number };
  getElementById(id: string): PageElement;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
export interface PageWindow {
  innerWidth: number;
  innerHeight: number;
}
declare const document: PageDocument;

/** Each wait gives up after this long, saying what it waited for. */
const WAIT_MS = 10_000;

export interface ShownMessage {
  from: string;
  text: string;
  own: boolean;
}

/**
 * One browser tab on the chat page, driven as a user would (typing, Enter), read through what
 * the page shows. Records every dialog (and dismisses it) and every script error.
 */
export class ChatPage {
  readonly dialogs: string[] = [];
  readonly errors: string[] = [];
  /** Every WebSocket URL the page opened, in order. */
  readonly sockets: string[] = [];

  private constructor(
    readonly page: Page,
    private readonly context: BrowserContext,
    readonly label: string,
  ) {
    page.on("dialog", (dialog) => {
      this.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on("pageerror", (err) => this.errors.push(err.message));
    page.on("websocket", (socket) => this.sockets.push(socket.url()));
  }

  /** Opens `address` (the page server's, with a query) in a fresh browser context. */
  static async open(
    browser: Browser,
    address: string,
    options: { viewport?: { width: number; height: number }; scale?: number } = {},
  ): Promise<ChatPage> {
    const context = await browser.newContext({
      viewport: options.viewport ?? { width: 1280, height: 800 },
      deviceScaleFactor: options.scale ?? 1,
    });
    const page = await context.newPage();
    const chatPage = new ChatPage(page, context, address);
    await page.goto(address, { timeout: WAIT_MS });
    return chatPage;
  }

  close(): Promise<void> {
    return this.context.close();
  }

  /** Waits until `check` (run in the page) returns true; the error names `what`. */
  async waitUntil<A>(what: string, check: (arg: A) => boolean, arg?: A): Promise<void> {
    try {
      await this.page.waitForFunction(check as (arg: unknown) => boolean, arg as unknown, {
        timeout: WAIT_MS,
      });
    } catch (err) {
      throw new Error(
        `${this.label}: waited ${WAIT_MS / 1000} s for ${what}; status "${await this.statusText()}"` +
          `, messages ${JSON.stringify(await this.messages())}`,
        { cause: err },
      );
    }
  }

  /** Waits until the page has opened a WebSocket whose URL passes `check`. */
  async waitForSocket(what: string, check: (url: string) => boolean): Promise<string> {
    const opened = this.sockets.find(check);
    if (opened) return opened;
    try {
      const socket = await this.page.waitForEvent("websocket", {
        predicate: (ws) => check(ws.url()),
        timeout: WAIT_MS,
      });
      return socket.url();
    } catch (err) {
      throw new Error(`${this.label}: waited ${WAIT_MS / 1000} s for ${what}`, { cause: err });
    }
  }

  /** Waits for the connection state (`connected`, `reconnecting`, ...) shown in the header. */
  waitForState(state: string): Promise<void> {
    return this.waitUntil(
      `the state "${state}"`,
      (s) => document.getElementById("status").dataset.state === s,
      state,
    );
  }

  state(): Promise<string | undefined> {
    return this.page.$eval("#status", (el: PageElement) => el.dataset.state);
  }

  statusText(): Promise<string> {
    return this.page.$eval("#status-text", (el) => el.textContent ?? "");
  }

  /** Types `text` into the message box (Shift+Enter for each newline) and presses Enter. */
  async type(text: string): Promise<void> {
    const box = this.page.getByLabel("Message", { exact: true });
    await box.focus();
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
      if (i > 0) await this.page.keyboard.press("Shift+Enter");
      await this.page.keyboard.insertText(line);
    }
    await this.page.keyboard.press("Enter");
  }

  /** Puts `text` in the message box at once (fast for big texts) and presses Enter. */
  async paste(text: string): Promise<void> {
    const box = this.page.getByLabel("Message", { exact: true });
    await box.fill(text);
    await box.press("Enter");
  }

  messageBox(): Promise<string> {
    return this.page.getByLabel("Message", { exact: true }).inputValue();
  }

  /** The chat messages on screen, oldest first. */
  messages(): Promise<ShownMessage[]> {
    return this.page.$$eval("#messages li.message", (items: PageElement[]) =>
      items.map((item) => ({
        from: item.querySelector(".from")?.textContent ?? "",
        text: item.querySelector(".text")?.textContent ?? "",
        own: item.classList.contains("own"),
      })),
    );
  }

  /**
   * Waits until a message with this text (and sender, if given) is on screen, as the server has
   * it: a page's own message counts once acknowledged, not while it is still being sent.
   */
  waitForMessage(text: string, from?: string): Promise<void> {
    return this.waitUntil(
      `the message ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}${from ? ` from ${from}` : ""}`,
      ([t, f]) =>
        [...document.querySelectorAll("#messages li.message:not(.pending)")].some(
          (item) =>
            item.querySelector(".text")?.textContent === t &&
            (f === null || item.querySelector(".from")?.textContent === f),
        ),
      [text, from ?? null] as const,
    );
  }

  /** The join and leave notices on screen, as their text without the time. */
  notices(): Promise<string[]> {
    return this.page.$$eval("#messages li.notice", (items: PageElement[]) =>
      items.map(
        (item) => (item.querySelector(".who")?.textContent ?? "") + " " + (item.dataset.kind ?? ""),
      ),
    );
  }

  /** Who the page says is here: the count and the names. */
  async people(): Promise<{ count: string; names: string[] }> {
    return {
      count: await this.page.$eval("#people-count", (el) => el.textContent ?? ""),
      names: await this.page.$$eval("#people li", (items: PageElement[]) =>
        items.map((item) => item.dataset.name ?? ""),
      ),
    };
  }

  /** The text of the server-error banner, or undefined while it is hidden. */
  problem(): Promise<string | undefined> {
    return this.page.$eval("#problem", (el: PageElement) =>
      el.hidden ? undefined : (el.querySelector("#problem-text")?.textContent ?? ""),
    );
  }

  messageError(): Promise<string> {
    return this.page.$eval("#message-error", (el) => el.textContent ?? "");
  }

  /** What the live region has announced (its last few lines). */
  announced(): Promise<string[]> {
    return this.page.$$eval("#announcer p", (items: PageElement[]) =>
      items.map((p) => p.textContent ?? ""),
    );
  }
}
