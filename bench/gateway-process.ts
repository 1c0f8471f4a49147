import { MAX_CONNECTION_MS } from "../handlers/lib/limits";
import { LocalChat, startLocalChat } from "../local/chat";
import { Cost, measure } from "./measure";
import { serve } from "./rpc";

/**
 * The local gateway and its DynamoDB (the chat as `npm start` runs it), in a process of its own.
 * Its $connect handler records the bench's clients in the table the fan-outs read.
 */

// The bench's clients only listen; they must not be closed as idle while a long run goes on.
const BENCH_IDLE_TIMEOUT_MS = MAX_CONNECTION_MS;
// Every strategy's warm container keeps its keep-alive sockets from one round to its next, as
// a container that broadcasts more often than the server's idle timeout does. With Node's 5 s,
// whether a round paid new TLS handshakes depended on how long the other strategies' turns
// between two of its rounds took: some strategies paid them in more rounds than others.
const BENCH_KEEP_ALIVE_MS = 10 * 60_000;

let chat: LocalChat | undefined;

function started(): LocalChat {
  if (!chat) throw new Error("start first");
  return chat;
}

export const methods = {
  /** `tls`: the certificate to serve wss:// and https:// with; its CA is in NODE_EXTRA_CA_CERTS. */
  async start(managementLatencyMs: number, tls?: { key: string; cert: string }) {
    chat = await startLocalChat({
      port: 0,
      managementLatencyMs,
      managementKeepAliveMs: BENCH_KEEP_ALIVE_MS,
      idleTimeoutMs: BENCH_IDLE_TIMEOUT_MS,
      // Notices are not what the bench measures, and its clients are plain ones that no notice
      // goes to. (When $connect still read the whole room for them, filling a room of N cost
      // O(N^2) reads: about 35 minutes for 10,000 here. It now reads only the room's chat.v1
      // members, none here; off, each $connect is one write.)
      presenceNotices: false,
      tls,
    });
    // The fan-outs run the message handler with the environment local mode gives it.
    return { url: chat.url, environment: chat.environment };
  },

  connectionIds(): string[] {
    return started().gateway.connectionIds();
  },

  /** 5. The socket ceiling: the gateway writes the frame to every socket itself. */
  async sendToAll(payload: string): Promise<{ cost: Cost; sent: number }> {
    const gateway = started().gateway;
    const { cost, result } = await measure(() => gateway.sendToAll(payload));
    return { cost, sent: result };
  },

  async close(): Promise<void> {
    await chat?.close();
    chat = undefined;
  },
};

serve(methods);
