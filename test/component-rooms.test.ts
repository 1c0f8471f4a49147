import { strict as assert } from "assert";
import { WebSocketChat, WebSocketChatArgs } from "../components/web-socket-chat";
import { HandlerName } from "../handlers/routes";
import {
  ACCOUNT,
  finishProgram,
  ProgramRecord,
  REGION,
  startProgram,
} from "./support/component-mocks";

/**
 * The resources behind rooms, history and presence: the room index, the history table, the
 * history and who routes, and what each function may do with them.
 */

const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/chat-connections-7f3a2b1`;
const HISTORY_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/chat-room-history-7f3a2b1`;
const POST = `arn:aws:execute-api:${REGION}:${ACCOUNT}:chat-api-id/dev/POST/@connections/*`;

async function deploy(args: WebSocketChatArgs = {}): Promise<ProgramRecord> {
  const record = await startProgram();
  new WebSocketChat("chat", args);
  await finishProgram();
  return record;
}

/** Each DynamoDB and @connections permission of a handler, as "action on resource". */
function dataGrants(record: ProgramRecord, handler: HandlerName): string[] {
  const { Statement } = JSON.parse(record.named(`chat-${handler}-policy`).inputs.policy) as {
    Statement: { Action: string[]; Resource: string }[];
  };
  return Statement.filter((s) => !s.Action.some((a) => a.startsWith("logs:")))
    .flatMap((s) => s.Action.map((action) => `${action} on ${s.Resource}`))
    .sort();
}

describe("WebSocketChat component: rooms, history and presence", () => {
  describe("with default arguments", () => {
    let record: ProgramRecord;
    before(async () => {
      record = await deploy();
    });

    it("keeps history in its own table, keyed by room and time-sorted id, expiring on expiresAt", () => {
      const { inputs } = record.named("chat-room-history");
      assert.equal(inputs.name, undefined, "auto-named");
      assert.equal(inputs.hashKey, "room");
      assert.equal(inputs.rangeKey, "id");
      assert.deepEqual(inputs.attributes, [
        { name: "room", type: "S" },
        { name: "id", type: "S" },
      ]);
      assert.equal(inputs.billingMode, "PAY_PER_REQUEST");
      assert.deepEqual(inputs.ttl, { enabled: true, attributeName: "expiresAt" });
      assert.equal(inputs.globalSecondaryIndexes, undefined);
    });

    it("routes history to its own function", () => {
      assert.equal(record.named("chat-history-route").inputs.routeKey, "history");
      assert.equal(
        record.named("chat-history-route").inputs.target,
        "integrations/chat-history-integration-id",
      );
    });

    it("lets history read the sender's record and its room's history, and reply", () => {
      assert.deepEqual(dataGrants(record, "history"), [
        `dynamodb:GetItem on ${TABLE_ARN}`,
        `dynamodb:Query on ${HISTORY_ARN}`,
        `execute-api:ManageConnections on ${POST}`,
      ]);
    });

    it("lets only the message route write history (messages, clientIds, the room's head) and read it for seq, and history read it", () => {
      for (const handler of ["connect", "disconnect", "default", "who"] as const) {
        for (const grant of dataGrants(record, handler))
          assert.ok(!grant.includes(HISTORY_ARN), `${handler}: ${grant}`);
      }
      assert.deepEqual(
        dataGrants(record, "message").filter((grant) => grant.includes(HISTORY_ARN)),
        [
          `dynamodb:PutItem on ${HISTORY_ARN}`,
          `dynamodb:Query on ${HISTORY_ARN}`,
          `dynamodb:UpdateItem on ${HISTORY_ARN}`,
        ],
      );
    });

    it("routes who to its own function, which may read the sender's record and the room index, and reply", () => {
      assert.equal(record.named("chat-who-route").inputs.routeKey, "who");
      assert.deepEqual(dataGrants(record, "who"), [
        `dynamodb:GetItem on ${TABLE_ARN}`,
        `dynamodb:Query on ${TABLE_ARN}/index/byRoom`,
        `execute-api:ManageConnections on ${POST}`,
      ]);
    });

    it("lets $connect and $disconnect read the room and post, for join and leave notices", () => {
      for (const handler of ["connect", "disconnect"] as const) {
        const grants = dataGrants(record, handler);
        assert.ok(grants.includes(`dynamodb:Query on ${TABLE_ARN}/index/byRoom`), handler);
        assert.ok(grants.includes(`execute-api:ManageConnections on ${POST}`), handler);
      }
      const variables = record.named("chat-connect").inputs.environment.variables;
      assert.equal(variables.PRESENCE_NOTICES, "true");
      assert.equal(variables.PRESENCE_NAME_LIMIT, "100");
    });

    it("tells the functions the history table, its retention and the replay limit", () => {
      const variables = record.named("chat-history").inputs.environment.variables;
      assert.equal(variables.HISTORY_TABLE_NAME, "chat-room-history-7f3a2b1");
      assert.equal(variables.HISTORY_RETENTION_SECONDS, "86400");
      assert.equal(variables.HISTORY_LIMIT, "50");
    });
  });

  it("with a retention of 0, keeps the table for the rooms' counters only: the message route may only count, history only read", async () => {
    const record = await deploy({ history: { retentionSeconds: 0 } });
    assert.ok(
      record.named("chat-room-history"),
      "the table stays, so turning history back on keeps it",
    );
    const historyGrants = (handler: "message" | "history") =>
      dataGrants(record, handler).filter((grant) => grant.includes(HISTORY_ARN));
    assert.deepEqual(historyGrants("message"), [`dynamodb:UpdateItem on ${HISTORY_ARN}`]);
    assert.deepEqual(historyGrants("history"), [`dynamodb:Query on ${HISTORY_ARN}`]);
    assert.equal(
      record.named("chat-message").inputs.environment.variables.HISTORY_RETENTION_SECONDS,
      "0",
    );
  });

  it("without notices, $connect and $disconnect may neither read a room nor post", async () => {
    const record = await deploy({ presence: { notices: false } });
    assert.deepEqual(dataGrants(record, "connect"), [`dynamodb:PutItem on ${TABLE_ARN}`]);
    assert.deepEqual(dataGrants(record, "disconnect"), [`dynamodb:DeleteItem on ${TABLE_ARN}`]);
    assert.equal(
      record.named("chat-disconnect").inputs.environment.variables.PRESENCE_NOTICES,
      "false",
    );
  });

  it("refuses a history limit or name cap outside 1-500, a negative retention, and a message route named like an action", async () => {
    await startProgram();
    try {
      assert.throws(() => new WebSocketChat("a", { history: { limit: 0 } }), /history\.limit/);
      assert.throws(() => new WebSocketChat("b", { history: { limit: 501 } }), /history\.limit/);
      assert.throws(
        () => new WebSocketChat("c", { history: { retentionSeconds: -1 } }),
        /history\.retentionSeconds/,
      );
      assert.throws(() => new WebSocketChat("d", { messageRoute: "history" }), /messageRoute/);
      assert.throws(() => new WebSocketChat("e", { messageRoute: "who" }), /messageRoute/);
      assert.throws(
        () => new WebSocketChat("f", { presence: { nameLimit: 501 } }),
        /presence\.nameLimit/,
      );
    } finally {
      await finishProgram();
    }
  });
});
