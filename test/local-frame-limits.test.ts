import { strict as assert } from "assert";
import { sendFragmented } from "./support/local-clients";
import { chatRoutes, useLocalGateway } from "./support/local-gateway";

describe("local gateway: API Gateway's frame and message size limits (local/frame-limits.ts)", function () {
  const harness = useLocalGateway();
  const message = (bytes: number) =>
    JSON.stringify({ action: "sendmessage", data: "x".repeat(bytes - 34) });

  it("accepts a 32 KB frame", async () => {
    await harness.start(chatRoutes);
    const { client } = await harness.connectWithId();
    const body = message(32 * 1024);
    assert.equal(Buffer.byteLength(body), 32 * 1024);
    await client.send(body);
    assert.equal((await harness.integrations.next("sendmessage")).body, body);
  });

  it("closes with 1009 on a frame over 32 KB, even when the message is under 128 KB", async () => {
    await harness.start(chatRoutes);
    await harness.assertClosedWith((client) => client.send(message(32 * 1024 + 1)), 1009);
  });

  it("accepts a 128 KB message sent as 32 KB fragments", async () => {
    await harness.start(chatRoutes);
    const { client } = await harness.connectWithId();
    const body = message(128 * 1024);
    await sendFragmented(client, body, 32 * 1024);
    assert.equal((await harness.integrations.next("sendmessage")).body, body);
  });

  it("closes with 1009 on a message over 128 KB, even in frames under 32 KB", async () => {
    await harness.start(chatRoutes);
    await harness.assertClosedWith(
      (client) => sendFragmented(client, message(128 * 1024 + 1), 16 * 1024),
      1009,
    );
  });
});
