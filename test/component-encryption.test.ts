import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { WebSocketChat, WebSocketChatArgs } from "../components/web-socket-chat";
import { HANDLER_NAMES, HandlerName } from "../handlers/routes";
import {
  ACCOUNT,
  finishProgram,
  ProgramRecord,
  REGION,
  startProgram,
  TYPES,
} from "./support/component-mocks";

const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

interface Statement {
  Action: string[];
  Resource: string;
}

async function deploy(args: WebSocketChatArgs = {}): Promise<ProgramRecord> {
  const record = await startProgram();
  new WebSocketChat("chat", args);
  await finishProgram();
  return record;
}

/** The KMS statements in a handler's policy. */
function kmsGrants(record: ProgramRecord, handler: HandlerName): Statement[] {
  const { Statement } = JSON.parse(record.named(`chat-${handler}-policy`).inputs.policy);
  return (Statement as Statement[]).filter((s) => s.Action.some((a) => a.startsWith("kms:")));
}

describe("WebSocketChat component: encryption at rest", () => {
  it("leaves serverSideEncryption out by default, so DynamoDB uses its free AWS-owned key", async () => {
    const record = await deploy();
    // `{ enabled: true }` without a key ARN would select the AWS-managed aws/dynamodb key.
    for (const table of record.ofType(TYPES.table))
      assert.equal(table.inputs.serverSideEncryption, undefined, table.name);
    for (const handler of HANDLER_NAMES) assert.deepEqual(kmsGrants(record, handler), [], handler);
  });

  it("encrypts with a customer-managed key when given one, and lets only the table's users use that key", async () => {
    const record = await deploy({ kmsKeyArn: KEY_ARN });
    const tables = record.ofType(TYPES.table);
    assert.equal(tables.length, 2, "connections and history");
    for (const table of tables)
      assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn: KEY_ARN });
    for (const handler of HANDLER_NAMES) {
      assert.deepEqual(
        kmsGrants(record, handler),
        [
          {
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            Resource: KEY_ARN,
          },
        ],
        handler,
      );
    }
  });

  it("takes the key as an output, e.g. an aws.kms.Key's arn", async () => {
    const record = await deploy({ kmsKeyArn: pulumi.output(KEY_ARN) });
    assert.deepEqual(record.ofType(TYPES.table)[0].inputs.serverSideEncryption, {
      enabled: true,
      kmsKeyArn: KEY_ARN,
    });
    assert.equal(kmsGrants(record, "message")[0].Resource, KEY_ARN);
  });

  it("refuses an alias, a key id or anything else but a key ARN, which IAM could not grant", async () => {
    await startProgram();
    try {
      for (const kmsKeyArn of [
        `arn:aws:kms:${REGION}:${ACCOUNT}:alias/chat`,
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "alias/aws/dynamodb",
        "",
      ]) {
        assert.throws(
          () => new WebSocketChat("chat", { kmsKeyArn }),
          /kmsKeyArn must be a KMS key ARN/,
          kmsKeyArn,
        );
      }
    } finally {
      await finishProgram();
    }
  });

  it("accepts key ARNs of other partitions", async () => {
    for (const kmsKeyArn of [
      `arn:aws-cn:kms:cn-north-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      `arn:aws-us-gov:kms:us-gov-west-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`,
    ]) {
      const record = await deploy({ kmsKeyArn });
      assert.equal(record.ofType(TYPES.table)[0].inputs.serverSideEncryption.kmsKeyArn, kmsKeyArn);
    }
  });
});
