import type { DynamoDBClient, ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import { strict as assert } from "assert";
import { ConnectionStore } from "../handlers/lib/connection-store";

/** A DynamoDB client that answers Scans from a list of pages and records when each was asked for. */
function pagedClient(pages: string[][]): { client: DynamoDBClient; scans: number } {
  const state = { scans: 0 };
  const client = {
    send: async (command: {
      input: { ExclusiveStartKey?: { connectionId: { S: string } } };
    }): Promise<Partial<ScanCommandOutput>> => {
      state.scans++;
      const index = Number(command.input.ExclusiveStartKey?.connectionId.S ?? 0);
      return {
        Items: pages[index].map((id) => ({ connectionId: { S: id } })),
        LastEvaluatedKey:
          index + 1 < pages.length ? { connectionId: { S: String(index + 1) } } : undefined,
      };
    },
  };
  return Object.defineProperty({ client: client as unknown as DynamoDBClient }, "scans", {
    get: () => state.scans,
  }) as {
    client: DynamoDBClient;
    scans: number;
  };
}

describe("ConnectionStore.livePages", function () {
  it("reads the next Scan page while the caller is still working through the current one", async function () {
    const fake = pagedClient([["a", "b"], ["c"], ["d"]]);
    const pages = new ConnectionStore(fake.client, "connections").livePages();
    assert.deepEqual((await pages.next()).value, ["a", "b"]);
    assert.equal(fake.scans, 2, "page 2 requested before the caller asked for it");
    const rest: string[][] = [];
    for await (const page of pages) rest.push(page);
    assert.deepEqual(rest, [["c"], ["d"]]);
    assert.equal(fake.scans, 3, "no Scan past the last page");
  });
});
