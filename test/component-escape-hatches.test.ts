import { strict as assert } from "assert";
import { WebSocketChat } from "../components/web-socket-chat";
import { AUTHORIZER_HANDLER, HANDLER_NAMES } from "../handlers/routes";
import { finishProgram, startProgram, TYPES, valueOf } from "./support/component-mocks";

const TOKEN = "tok-0123456789-ABCDEFGHIJ-secret";

describe("WebSocketChat's escape hatches", () => {
  afterEach(() => finishProgram());

  it("exposes the authorizer's function, role, log group and permission as chat.authorizer", async () => {
    const record = await startProgram();
    const chat = new WebSocketChat("chat", { access: { accessToken: TOKEN } });
    await finishProgram();
    const authorizer = chat.authorizer!;
    assert.equal(
      await valueOf(authorizer.function.name),
      record.named("chat-authorize").inputs.name,
    );
    assert.equal(await valueOf(authorizer.authorizer.id), "chat-authorizer-id");
    assert.equal(
      await valueOf(authorizer.logGroup.name),
      record.named("chat-authorize-logs").inputs.name,
    );
    assert.equal(
      await valueOf(authorizer.role.name),
      record.named("chat-authorize-role").inputs.name,
    );
    assert.ok(await valueOf(authorizer.rolePolicy.policy));
    assert.equal(
      await valueOf(authorizer.permission.sourceArn),
      record.named(`chat-${AUTHORIZER_HANDLER}-invoke`).inputs.sourceArn,
    );
  });

  it("has no authorizer when anyone may connect", async () => {
    await startProgram();
    const chat = new WebSocketChat("chat");
    await finishProgram();
    assert.equal(chat.authorizer, undefined);
  });

  it("lets Pulumi's transforms option change any child's inputs (the README's example)", async () => {
    const record = await startProgram();
    // As the README shows: more memory and X-Ray tracing for every function of the chat.
    new WebSocketChat(
      "chat",
      { access: { accessToken: TOKEN } },
      {
        transforms: [
          ({ type, props, opts }) =>
            type === "aws:lambda/function:Function"
              ? { props: { ...props, memorySize: 512, tracingConfig: { mode: "Active" } }, opts }
              : undefined,
        ],
      },
    );
    await finishProgram();
    const functions = record.ofType(TYPES.function);
    assert.deepEqual(
      functions.map((fn) => fn.name).sort(),
      [...HANDLER_NAMES, AUTHORIZER_HANDLER].map((handler) => `chat-${handler}`).sort(),
    );
    for (const fn of functions) {
      assert.equal(fn.inputs.memorySize, 512, fn.name);
      assert.deepEqual(fn.inputs.tracingConfig, { mode: "Active" }, fn.name);
    }
    // Nothing else changed: the tables keep their own inputs.
    assert.equal(record.ofType(TYPES.table)[0].inputs.memorySize, undefined);
  });
});
