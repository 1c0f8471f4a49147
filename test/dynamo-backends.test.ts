import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { strict as assert } from "assert";
import { CONNECTION_KEY, ROOM_ATTRIBUTE } from "../handlers/lib/connection-store";
import { ensureTable } from "../local/dynamo";
import { CONNECTIONS_TABLE } from "../handlers/lib/tables";
import { dynamoBackends, TEST_CREDENTIALS, TestDynamo } from "./support/dynamo";

// Where dynalite and AWS part ways, as Amazon's DynamoDB Local shows. The code follows AWS; these
// pin each difference, so that a change on either side shows up here rather than in a deploy.
for (const backend of dynamoBackends()) {
  const asAws = backend === "DynamoDB Local";

  describe(`what DynamoDB does that dynalite does not (${backend})`, function () {
    let dynamo: TestDynamo;
    let table: string;

    before(async function () {
      dynamo = await TestDynamo.start(backend);
    });
    after(async function () {
      await dynamo.stop();
    });
    beforeEach(async function () {
      table = await dynamo.createConnectionsTable("differences");
      await dynamo.putConnections(table, [{ id: "present", expiresAt: 4_000_000_000 }]);
    });

    it(`${asAws ? "keeps" : "does not keep"} each region's tables apart`, async function () {
      const name = `${table}-tokyo`;
      await ensureTable(dynamo.endpoint, name, CONNECTIONS_TABLE, "ap-northeast-1");
      const elsewhere = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: "eu-west-1",
        credentials: TEST_CREDENTIALS,
      });
      try {
        const read = elsewhere.send(
          new GetItemCommand({ TableName: name, Key: { [CONNECTION_KEY]: { S: "any" } } }),
        );
        if (asAws) await assert.rejects(read, { name: "ResourceNotFoundException" });
        else await read;
      } finally {
        elsewhere.destroy();
      }
    });

    it(`${asAws ? "returns" : "leaves out"} the item when a condition fails with ReturnValuesOnConditionCheckFailure`, async function () {
      const failed = await dynamo.client
        .send(
          new UpdateItemCommand({
            TableName: table,
            Key: { [CONNECTION_KEY]: { S: "present" } },
            UpdateExpression: "SET #at = :one",
            ConditionExpression: "attribute_not_exists(#id)",
            ExpressionAttributeNames: { "#id": CONNECTION_KEY, "#at": "rateFullAt" },
            ExpressionAttributeValues: { ":one": { N: "1" } },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        )
        .then(
          () => assert.fail("the condition held"),
          (err: Error & { Item?: Record<string, { S?: string }> }) => err,
        );
      assert.equal(failed.name, "ConditionalCheckFailedException");
      assert.equal(failed.Item?.[CONNECTION_KEY]?.S, asAws ? "present" : undefined);
    });

    it(`${asAws ? "refuses" : "stores"} an empty string as an index key (the room)`, async function () {
      const put = dynamo.client.send(
        new PutItemCommand({
          TableName: table,
          Item: { [CONNECTION_KEY]: { S: "roomless" }, [ROOM_ATTRIBUTE]: { S: "" } },
        }),
      );
      if (asAws) await assert.rejects(put, { name: "ValidationException" });
      else await put;
    });
  });
}
