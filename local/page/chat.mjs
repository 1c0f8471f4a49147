// The chat page: joins a room over chat.v1 and shows it. Text from the network only ever
// reaches the page through textContent, never as HTML.
import {
  CLIENT_ID_LENGTH,
  RETRYABLE_ERRORS,
  SUBPROTOCOL,
  actionFrame,
  connectUrl,
  contiguousSeq,
  displayText,
  nameProblem,
  newClientId,
  parseFrame,
  reconnectDelayMs,
  resolveSettings,
  roomProblem,
  utf8Bytes,
  webSocketUrlProblem,
} from "./protocol.mjs";

// A connection that stayed open this long was a success: the next failure starts the backoff
// over. One that closes sooner counts as a failed attempt, so a server that accepts and drops
// at once is not hammered.
const STABLE_CONNECTION_MS = 10_000;
const ANNOUNCED_KEPT = 3;
// A message that arrives with a seq past the next one may only have overtaken it (two Lambdas
// handle two messages side by side): wait this long before asking for what is missing.
const GAP_WAIT_MS = 1_000;
// A send the server asked to repeat (busy, or still handling the first attempt) goes again after
// this long, unless the server said how long.
const RESEND_WAIT_MS = 1_000;
// Messages from one sender this close together read as one run.
const RUN_MS = 2 * 60 * 1000;

const $ = (id) => document.getElementById(id);
const ui = {
  roomTitle: $("room-title"),
  status: $("status"),
  statusText: $("status-text"),
  retry: $("retry"),
  leave: $("leave"),
  join: $("join"),
  name: $("name"),
  room: $("room"),
  url: $("url"),
  server: $("server"),
  joinError: $("join-error"),
  tokenForm: $("token-form"),
  token: $("token"),
  problem: $("problem"),
  problemText: $("problem-text"),
  problemDismiss: $("problem-dismiss"),
  messages: $("messages"),
  empty: $("empty"),
  jump: $("jump"),
  peopleCount: $("people-count"),
  people: $("people"),
  peopleMore: $("people-more"),
  composer: $("composer"),
  message: $("message"),
  messageError: $("message-error"),
  announcer: $("announcer"),
};

let config;
let settings;
let token = "";
let socket;
/** Failed attempts since the last stable connection. */
let failures = 0;
/** Whether any connection with the current settings has opened (then a failure is an outage). */
let openedWithSettings = false;
let leaving = false;
let retryTimer;
let keepaliveTimer;
let unread = 0;
/** The messages on screen by id: history after a reconnect repeats some. */
const shown = new Map();
/** The `seq`s of the messages on screen. */
const shownSeqs = new Set();
/**
 * The highest `seq` up to which every message is on screen (or known to be lost): the `since`
 * of the next resume. Undefined until the first history reply.
 */
let resumeFrom;
/** The `since` of the resume request on its way, if any: one at a time. */
let resumingSince;
let gapTimer;
/**
 * What this page sent (or will send once connected) and the server has not acknowledged yet,
 * oldest first: `{ clientId, text, frame, item, timer }`. Sent again, with the same `clientId`,
 * after every reconnect until acknowledged: the server stores each `clientId` once.
 */
const outbox = [];
let presence = { count: 0, names: [] };

void start();

async function start() {
  wireEvents();
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json answered ${response.status}`);
    config = await response.json();
    settings = resolveSettings(config, new URLSearchParams(location.search), remembered());
  } catch (err) {
    setStatus("closed", "The page could not load its settings. Reload to try again.");
    console.error(err);
    return;
  }
  ui.name.value = settings.name;
  ui.room.value = settings.room;
  ui.url.value = settings.url;
  token = sessionStorage.getItem(tokenKey(settings.url)) ?? "";
  ui.token.value = token;
  showRoom();

  const problems = { ...settings.problems };
  if (settings.name === "") problems.name = "Pick a name, then Join.";
  else if (nameProblem(settings.name)) problems.name = nameProblem(settings.name);
  if (Object.keys(problems).length > 0) {
    if (problems.url || problems.actionField) ui.server.open = true;
    showJoinProblems(problems);
    setStatus("closed", "Not connected.");
    return;
  }
  connect();
}

function wireEvents() {
  ui.join.addEventListener("submit", (event) => {
    event.preventDefault();
    join();
  });
  ui.tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    token = ui.token.value.trim();
    if (token) sessionStorage.setItem(tokenKey(settings.url), token);
    else sessionStorage.removeItem(tokenKey(settings.url));
    failures = 0;
    connect();
  });
  ui.retry.addEventListener("click", () => connect());
  ui.leave.addEventListener("click", leave);
  ui.problemDismiss.addEventListener("click", () => {
    ui.problem.hidden = true;
    ui.message.focus();
  });
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  ui.message.addEventListener("keydown", (event) => {
    // Shift+Enter keeps the browser's newline; Enter while an IME composes confirms the word.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  ui.message.addEventListener("input", () => {
    fitMessageBox();
    checkMessageSize();
  });
  ui.messages.addEventListener("scroll", () => {
    if (isNearBottom()) ui.jump.hidden = true;
  });
  ui.jump.addEventListener("click", () => {
    scrollToNewest();
    ui.message.focus();
  });
  window.addEventListener("online", () => {
    if (retryTimer !== undefined) connect();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      unread = 0;
      showRoom();
    }
  });
}

// ---- Joining and the connection ------------------------------------------------------------

function join() {
  const name = ui.name.value.trim();
  const room = ui.room.value.trim();
  const url = ui.url.value.trim();
  const problems = {};
  if (nameProblem(name)) problems.name = nameProblem(name);
  if (roomProblem(room)) problems.room = roomProblem(room);
  if (webSocketUrlProblem(url)) problems.url = webSocketUrlProblem(url);
  if (Object.keys(problems).length > 0) {
    if (problems.url) ui.server.open = true;
    showJoinProblems(problems);
    return;
  }
  showJoinProblems({});
  ui.name.value = name;
  const changed = name !== settings.name || room !== settings.room || url !== settings.url;
  if (!changed && socket?.readyState === WebSocket.OPEN) {
    ui.message.focus();
    return;
  }
  if (url !== settings.url) {
    token = sessionStorage.getItem(tokenKey(url)) ?? "";
    ui.token.value = token;
  }
  settings = { ...settings, name, room, url };
  localStorage.setItem("chat.name", name);
  localStorage.setItem("chat.room", room);
  rememberInAddress();
  if (changed) {
    clearConversation();
    openedWithSettings = false;
  }
  showRoom();
  failures = 0;
  connect();
  ui.message.focus();
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  disconnect();
  leaving = false;
  const ws = new WebSocket(connectUrl({ ...settings, token }), SUBPROTOCOL);
  socket = ws;
  let openedAt;
  setStatus(
    failures === 0 && !openedWithSettings ? "connecting" : "reconnecting",
    failures === 0 && !openedWithSettings ? `Connecting to ${settings.room}…` : "Reconnecting…",
  );

  ws.addEventListener("open", () => {
    if (socket !== ws) return;
    openedAt = Date.now();
    openedWithSettings = true;
    ui.tokenForm.hidden = true;
    setStatus("connected", `Connected to ${settings.room} as ${settings.name}`);
    setMessageError("");
    resumingSince = undefined;
    // First the latest messages; after a reconnect, everything since the last one shown.
    if (resumeFrom === undefined)
      sendFrame(actionFrame(settings.actionPath, settings.actions.history));
    else requestResume();
    sendFrame(actionFrame(settings.actionPath, settings.actions.who));
    for (const entry of outbox) transmit(entry);
  });
  ws.addEventListener("message", (event) => {
    if (socket === ws && typeof event.data === "string") receive(event.data);
  });
  ws.addEventListener("close", () => {
    if (socket !== ws) return;
    socket = undefined;
    clearTimeout(keepaliveTimer);
    if (leaving) return;
    // Who is here is not known again until the next `who` answers.
    showPresenceUnknown();
    for (const entry of outbox) markEntry(entry, "waiting");
    const stable = openedAt !== undefined && Date.now() - openedAt >= STABLE_CONNECTION_MS;
    failures = stable ? 0 : failures + 1;
    // A browser only sees that the upgrade failed, never the status: a refusal for lack of a
    // token (401/403) looks like an unreachable server. Ask when these settings never worked.
    if (openedAt === undefined && !openedWithSettings) showTokenForm();
    scheduleReconnect();
  });
}

/** Closes the current connection, if any, without reconnecting. */
function disconnect() {
  const ws = socket;
  socket = undefined;
  clearTimeout(keepaliveTimer);
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "Leaving");
}

function scheduleReconnect() {
  const delay = reconnectDelayMs(Math.max(0, failures - 1));
  const seconds = Math.max(1, Math.round(delay / 1000));
  setStatus(
    "reconnecting",
    `${openedWithSettings ? "Connection lost" : "Could not connect"}. Trying again in ${seconds} s${failures > 1 ? ` (attempt ${failures + 1})` : ""}.`,
  );
  retryTimer = setTimeout(() => connect(), delay);
}

function leave() {
  leaving = true;
  clearTimeout(retryTimer);
  retryTimer = undefined;
  disconnect();
  setPresence(0, []);
  setStatus("closed", `Left ${settings.room}. Join to come back.`);
}

function showTokenForm() {
  if (!ui.tokenForm.hidden) return;
  ui.tokenForm.hidden = false;
  if (document.activeElement !== ui.message) ui.token.focus();
}

// ---- What arrives ----------------------------------------------------------------------------

function receive(text) {
  const frame = parseFrame(text);
  // Frames about another room cannot be for this page: the server keeps rooms apart.
  if ("room" in frame && frame.room !== settings.room) return;
  switch (frame.type) {
    case "message":
      addMessage(frame, true);
      return checkForGap();
    case "history":
      frame.messages.forEach((message) => addMessage(message, false));
      return historyArrived(frame);
    case "ack":
      return acknowledged(frame);
    case "joined":
    case "left":
      addNotice(frame);
      return changePresence(frame);
    case "presence":
      return setPresence(frame.count, frame.names);
    case "error":
      if (frame.clientId && sendRefused(frame)) return;
      return showProblem(frame.message || frame.error || "an unexplained error");
    default:
      console.warn("The page ignored a frame it does not understand.");
  }
}

function addMessage(message, live) {
  if (shown.has(message.id)) return;
  const text = displayText(message.data);
  // One of this page's own, sent and not acknowledged yet: its item becomes the message.
  const entry = claimOwn(message, text);
  const own = entry !== undefined || message.from === settings.name;
  const sentAt = message.sentAt ?? Date.now();

  let item;
  if (entry) {
    item = entry.item;
    forget(entry);
    item.remove();
    item.querySelector("time").replaceWith(timeElement(sentAt));
    setMark(item, "sent");
  } else {
    item = messageItem(message.from, own, sentAt, text);
  }
  shown.set(message.id, item);
  if (message.seq !== undefined) {
    item.dataset.seq = String(message.seq);
    shownSeqs.add(message.seq);
  }
  place(item, sentAt, own);

  if (live && !own) {
    announce(`${message.from}: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`);
    if (document.visibilityState === "hidden") {
      unread++;
      showRoom();
    }
  }
}

/** A message item: who, (you), when, the send's mark, and the text. */
function messageItem(from, own, sentAt, text) {
  const item = element("li", own ? "message own" : "message");
  const meta = element("p", "meta");
  meta.append(element("span", "from", from));
  if (own) meta.append(element("span", "you", " (you)"));
  meta.append(" ", timeElement(sentAt));
  if (own) meta.append(element("span", "mark"));
  item.append(meta, element("p", "text", text));
  item.dataset.from = from;
  return item;
}

/**
 * The outbox entry `message` is, when it arrives before its ack: one this page sent with the
 * same text (oldest first), from this page's name.
 */
function claimOwn(message, text) {
  // Without a token the server uses the name we gave; with one, the token's name may win.
  if (!token && message.from !== settings.name) return undefined;
  return outbox.find((entry) => entry.transmitted && entry.text === text);
}

/** The server has `ack.clientId`'s message (as `ack.id`, `ack.seq`): it is sent. */
function acknowledged(ack) {
  const entry = outbox.find((e) => e.clientId === ack.clientId);
  if (!entry) return;
  forget(entry);
  const existing = shown.get(ack.id);
  if (existing) {
    // Its broadcast (or a resume) showed it first: that item is this page's own.
    entry.item.remove();
    markOwn(existing);
    return;
  }
  const { item } = entry;
  shown.set(ack.id, item);
  item.remove();
  if (ack.seq !== undefined) {
    item.dataset.seq = String(ack.seq);
    shownSeqs.add(ack.seq);
  }
  setMark(item, "sent");
  place(item, Number(item.dataset.time), true);
  checkForGap();
}

/** An error about one of this page's sends: true when it was about one. */
function sendRefused(error) {
  const entry = outbox.find((e) => e.clientId === error.clientId);
  if (!entry) return false;
  if (RETRYABLE_ERRORS.includes(error.error)) {
    // The same clientId again: the server sends it at most once.
    markEntry(entry, "retrying", error.message);
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => transmit(entry), error.retryAfterMs ?? RESEND_WAIT_MS);
    return true;
  }
  // Refused for good: back into the box (unless something else is being typed), with why.
  forget(entry);
  entry.item.remove();
  if (ui.message.value === "") {
    ui.message.value = entry.text;
    fitMessageBox();
  }
  showProblem(error.message || error.error);
  return true;
}

function forget(entry) {
  clearTimeout(entry.timer);
  const index = outbox.indexOf(entry);
  if (index !== -1) outbox.splice(index, 1);
}

function markOwn(item) {
  if (!item.classList.contains("own")) {
    item.classList.add("own");
    item.querySelector(".from").after(element("span", "you", " (you)"));
    item.querySelector(".meta").append(element("span", "mark"));
  }
  setMark(item, "sent");
}

/** Shows where a send stands: `sending`, `waiting` (for a connection), `retrying`, `sent`. */
function setMark(item, state, reason) {
  item.classList.toggle("pending", state !== "sent");
  item.dataset.state = state;
  const mark = item.querySelector(".mark");
  if (!mark) return;
  const words = {
    sending: "Sending…",
    waiting: "Not sent yet: waiting for the connection",
    retrying: `Not sent yet${reason ? ` (${reason})` : ""}: trying again`,
    sent: "Sent",
  };
  mark.textContent = ` · ${words[state]}`;
}

function markEntry(entry, state, reason) {
  setMark(entry.item, state, reason);
}

/** Sends `entry` now if connected; otherwise it waits for the next connection. */
function transmit(entry) {
  clearTimeout(entry.timer);
  if (socket?.readyState !== WebSocket.OPEN) return markEntry(entry, "waiting");
  sendFrame(entry.frame);
  entry.transmitted = true;
  markEntry(entry, "sending");
}

// ---- Resuming: every message once, in the order of its seq -----------------------------------

/** Asks for everything after the last message shown (once at a time). */
function requestResume() {
  if (resumingSince !== undefined || resumeFrom === undefined) return;
  if (socket?.readyState !== WebSocket.OPEN) return;
  resumingSince = resumeFrom;
  sendFrame(actionFrame(settings.actionPath, settings.actions.history, { since: resumeFrom }));
}

function historyArrived(frame) {
  if (frame.latestSeq === undefined) return; // a server without seq: nothing to resume by
  if (frame.since === undefined) {
    // The latest messages: the page has everything from the first of them on.
    resumeFrom ??= frame.messages.length > 0 ? frame.messages[0].seq - 1 : frame.latestSeq;
    resumeFrom = contiguousSeq(resumeFrom, shownSeqs);
    return;
  }
  // Another frame of a reply already read (a reply over 128 KB comes in several).
  if (frame.since !== resumingSince) return resumeIfBehind(frame.latestSeq);
  resumingSince = undefined;
  if (frame.latestSeq < frame.since) {
    // The room's numbering started over (its history had expired, or the server is new).
    addLine("The room's history started over while you were away: older messages stay above.");
    for (const item of shown.values()) delete item.dataset.seq;
    shownSeqs.clear();
    resumeFrom = 0;
    return requestResume();
  }
  if (frame.complete === false) {
    addLine("Some messages sent while you were away are no longer kept, and are missing here.");
    resumeFrom = frame.messages.length > 0 ? frame.messages[0].seq - 1 : frame.latestSeq;
  }
  resumeFrom = contiguousSeq(resumeFrom, shownSeqs);
  resumeIfBehind(frame.latestSeq);
}

function resumeIfBehind(latestSeq) {
  resumeFrom = contiguousSeq(resumeFrom, shownSeqs);
  if (resumeFrom < latestSeq) requestResume();
}

/** A message past the next one: ask for what is missing, unless it turns up by itself. */
function checkForGap() {
  if (resumeFrom === undefined) return;
  resumeFrom = contiguousSeq(resumeFrom, shownSeqs);
  const ahead = [...shownSeqs].some((seq) => seq > resumeFrom + 1);
  if (!ahead || gapTimer !== undefined) return;
  gapTimer = setTimeout(() => {
    gapTimer = undefined;
    resumeFrom = contiguousSeq(resumeFrom, shownSeqs);
    if ([...shownSeqs].some((seq) => seq > resumeFrom + 1)) requestResume();
  }, GAP_WAIT_MS);
}

/** A line of the page's own in the conversation (not a message). */
function addLine(text) {
  const item = element("li", "notice gap", text);
  place(item, Date.now(), false);
  announce(text);
}

/** A message right after another from the same sender shows no name and time of its own. */
function markRun(item) {
  const before = item.previousElementSibling;
  const continues =
    item.classList.contains("message") &&
    !item.classList.contains("pending") &&
    before?.classList.contains("message") &&
    before.dataset.from === item.dataset.from &&
    Number(item.dataset.time) - Number(before.dataset.time) < RUN_MS;
  item.classList.toggle("continued", Boolean(continues));
}

function addNotice(frame) {
  const item = element("li", "notice");
  item.dataset.kind = frame.type;
  item.append(
    element("span", "who", frame.name),
    frame.type === "joined" ? " joined" : " left",
    " ",
    timeElement(frame.at ?? Date.now()),
  );
  place(item, frame.at ?? Date.now(), false);
  announce(`${frame.name} ${frame.type}`);
}

/**
 * Puts `item` in the conversation: sends not yet acknowledged last; a message with a seq after
 * those with a lower one (whatever order they arrived in); anything else by time.
 */
function place(item, time, own) {
  const follow = own || isNearBottom();
  item.dataset.time = String(time);
  const pending = item.classList.contains("pending");
  const seq = item.dataset.seq === undefined ? undefined : Number(item.dataset.seq);
  let before = ui.messages.lastElementChild;
  const goesBefore = (other) => {
    if (other.classList.contains("pending")) return !pending;
    if (pending) return false;
    if (seq !== undefined && other.dataset.seq !== undefined)
      return Number(other.dataset.seq) > seq;
    return (
      Number(other.dataset.time) > time && (seq === undefined || other.dataset.seq === undefined)
    );
  };
  while (before && goesBefore(before)) before = before.previousElementSibling;
  ui.messages.insertBefore(item, before ? before.nextElementSibling : ui.messages.firstChild);
  markRun(item);
  if (item.nextElementSibling) markRun(item.nextElementSibling);
  ui.empty.hidden = true;
  if (follow) scrollToNewest();
  else ui.jump.hidden = false;
}

function isNearBottom() {
  const list = ui.messages;
  return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
}

function scrollToNewest() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  ui.jump.hidden = true;
}

function clearConversation() {
  ui.messages.replaceChildren();
  ui.empty.hidden = false;
  ui.jump.hidden = true;
  shown.clear();
  shownSeqs.clear();
  resumeFrom = undefined;
  resumingSince = undefined;
  clearTimeout(gapTimer);
  gapTimer = undefined;
  for (const entry of [...outbox]) forget(entry);
  setPresence(0, []);
}

function changePresence(frame) {
  const names = [...presence.names];
  if (frame.type === "joined") {
    names.push(frame.name);
    setPresence(presence.count + 1, names);
  } else {
    const index = names.indexOf(frame.name);
    if (index !== -1) names.splice(index, 1);
    setPresence(Math.max(0, presence.count - 1), names);
  }
}

/** While disconnected, who is here is not known: the list stays, greyed, and says so. */
function showPresenceUnknown() {
  ui.people.classList.add("unknown");
  ui.peopleCount.textContent = "(?)";
  ui.peopleMore.hidden = false;
  ui.peopleMore.textContent = "Not known while disconnected.";
}

function setPresence(count, names) {
  presence = { count, names };
  ui.people.classList.remove("unknown");
  ui.peopleCount.textContent = `(${count})`;
  const sorted = [...names].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
  ui.people.replaceChildren(
    ...sorted.map((name) => {
      const item = element("li", name === settings.name ? "person own" : "person", name);
      item.dataset.name = name;
      if (name === settings.name) item.append(element("span", "you", " (you)"));
      return item;
    }),
  );
  const hidden = count - names.length;
  ui.peopleMore.hidden = hidden <= 0;
  ui.peopleMore.textContent = hidden > 0 ? `and ${hidden} more` : "";
}

function showProblem(text) {
  ui.problemText.textContent = text;
  ui.problem.hidden = false;
}

function announce(text) {
  ui.announcer.append(element("p", "", text));
  while (ui.announcer.childElementCount > ANNOUNCED_KEPT) ui.announcer.firstElementChild.remove();
}

// ---- Sending ------------------------------------------------------------------------------

/**
 * Sends what is in the box with a new `clientId`, or, while disconnected, keeps it in the outbox
 * (shown as not sent yet) until the next connection: either way it is shown at once, and marked
 * sent once the server acknowledges it.
 */
function send() {
  const text = ui.message.value;
  if (text.trim() === "") return;
  const clientId = newClientId();
  const frame = actionFrame(settings.actionPath, settings.messageRoute, { data: text, clientId });
  if (!checkMessageSize(frame)) return;
  const item = messageItem(settings.name, true, Date.now(), text);
  const entry = { clientId, text, frame, item, transmitted: false };
  outbox.push(entry);
  setMark(item, "waiting");
  place(item, Date.now(), true);
  ui.message.value = "";
  fitMessageBox();
  setMessageError("");
  transmit(entry);
}

/**
 * Refuses what API Gateway would refuse: a browser sends each message as one frame, and the
 * gateway closes the connection on a frame over 32 KB (its 128 KB message limit never applies).
 */
function checkMessageSize(frame) {
  const text = ui.message.value;
  // Every message carries a clientId: count one, whatever its value.
  const clientId = "x".repeat(CLIENT_ID_LENGTH);
  const bytes = utf8Bytes(
    frame ?? actionFrame(settings.actionPath, settings.messageRoute, { data: text, clientId }),
  );
  const limit = settings.maxFrameBytes;
  if (bytes <= limit) {
    if (ui.message.getAttribute("aria-invalid") === "true") setMessageError("");
    return true;
  }
  setMessageError(
    `Too long to send: ${bytes.toLocaleString("en")} bytes, and the server closes the ` +
      `connection on any message over ${Math.floor(limit / 1024)} KB ` +
      `(${limit.toLocaleString("en")} bytes). Shorten it by ${(bytes - limit).toLocaleString("en")} bytes or more.`,
    true,
  );
  return false;
}

function sendFrame(frame) {
  socket.send(frame);
  // API Gateway closes a connection after 10 minutes without a message: ask who is here a
  // little before that, which also keeps the list fresh.
  clearTimeout(keepaliveTimer);
  keepaliveTimer = setTimeout(
    () => {
      if (socket?.readyState === WebSocket.OPEN)
        sendFrame(actionFrame(settings.actionPath, settings.actions.who));
    },
    Math.max(1000, settings.idleTimeoutMs * 0.9),
  );
}

function setMessageError(text, invalid = false) {
  ui.messageError.textContent = text;
  if (invalid) ui.message.setAttribute("aria-invalid", "true");
  else ui.message.removeAttribute("aria-invalid");
}

function fitMessageBox() {
  ui.message.style.height = "auto";
  ui.message.style.height = `${ui.message.scrollHeight + 2}px`;
}

// ---- Small helpers ------------------------------------------------------------------------

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
  ui.retry.hidden = state !== "reconnecting";
  ui.leave.hidden = state === "closed";
}

function showRoom() {
  ui.roomTitle.textContent = settings.room;
  document.title = `${unread > 0 ? `(${unread}) ` : ""}${settings.room} · Chat`;
}

function showJoinProblems(problems) {
  const fields = { name: ui.name, room: ui.room, url: ui.url, actionField: ui.url };
  for (const input of [ui.name, ui.room, ui.url]) input.removeAttribute("aria-invalid");
  const messages = [];
  for (const [key, message] of Object.entries(problems)) {
    fields[key]?.setAttribute("aria-invalid", "true");
    messages.push(message);
  }
  ui.joinError.textContent = messages.join(" ");
  const first = Object.keys(problems)[0];
  if (first) fields[first].focus();
}

function rememberInAddress() {
  const params = new URLSearchParams(location.search);
  params.set("room", settings.room);
  params.set("name", settings.name);
  if (settings.url !== config.url) params.set("url", settings.url);
  else params.delete("url");
  history.replaceState(null, "", `?${params.toString()}`);
}

function remembered() {
  return {
    name: localStorage.getItem("chat.name") ?? undefined,
    room: localStorage.getItem("chat.room") ?? undefined,
  };
}

function tokenKey(url) {
  return `chat.token ${url}`;
}

function timeElement(ms) {
  const time = document.createElement("time");
  const date = new Date(ms);
  time.dateTime = date.toISOString();
  const today = new Date().toDateString() === date.toDateString();
  time.textContent = date.toLocaleString(undefined, {
    ...(today ? {} : { month: "short", day: "numeric" }),
    hour: "numeric",
    minute: "2-digit",
  });
  time.title = date.toLocaleString();
  return time;
}

/** An element with a class and, optionally, text: the only way text gets onto the page. */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
