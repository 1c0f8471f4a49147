import type { DynamoDBClient, QueryCommandOutput } from "@aws-sdk/client-dynamodb";
import { strict as assert } from "assert";
import { ConnectionStore, GONE_GRACE_MS, RoomMember } from "../handlers/lib/connection-store";
import { INTEGRATION_TIMEOUT_MS } from "../handlers/lib/limits";
import { dynamoBackends, TestDynamo } from "./support/dynamo";

/** A DynamoDB client that answers Queries from a list of pages and records when each was asked for. */
function pagedClient(pages: string[][]): { client: DynamoDBClient; queries: number } {
  const state = { queries: 0 };
  const client = {
    send: async (command: {
      input: { ExclusiveStartKey?: { connectionId: { S: string } } };
    }): Promise<Partial<QueryCommandOutput>> => {
      state.queries++;
      const index = Number(command.input.ExclusiveStartKey?.connectionId.S ?? 0);
      return {
        Items: pages[index].map((id) => ({ connectionId: { S: id }, room: { S: "general" } })),
        LastEvaluatedKey:
          index + 1 < pages.length ? { connectionId: { S: String(index + 1) } } : undefined,
      };
    },
  };
  return Object.defineProperty({ client: client as unknown as DynamoDBClient }, "queries", {
    get: () => state.queries,
  }) as { client: DynamoDBClient; queries: number };
}

const ids = (page: RoomMember[] | undefined) => (page ?? []).map((m) => m.connectionId);

describe("ConnectionStore", function () {
  it("reads the next Query page while the caller is still working through the current one", async function () {
    const fake = pagedClient([["a", "b"], ["c"], ["d"]]);
    const pages = new ConnectionStore(fake.client, "connections").roomPages("general");
    assert.deepEqual(ids((await pages.next()).value as RoomMember[]), ["a", "b"]);
    assert.equal(fake.queries, 2, "page 2 requested before the caller asked for it");
    const rest: string[][] = [];
    for await (const page of pages) rest.push(ids(page));
    assert.deepEqual(rest, [["c"], ["d"]]);
    assert.equal(fake.queries, 3, "no Query past the last page");
  });

  for (const backend of dynamoBackends()) {
    describe(`against DynamoDB (${backend})`, function () {
      let dynamo: TestDynamo;
      let store: ConnectionStore;
      let tableName: string;
      const now = Date.now();
      const LIVE = Math.floor(now / 1000) + 3600;

      before(async function () {
        dynamo = await TestDynamo.start(backend);
      });
      after(async function () {
        await dynamo.stop();
      });
      beforeEach(async function () {
        tableName = await dynamo.createConnectionsTable("connections");
        store = new ConnectionStore(dynamo.client, tableName, { pageSize: 2 });
      });

      async function room(name: string): Promise<RoomMember[]> {
        const members: RoomMember[] = [];
        for await (const page of store.roomPages(name)) members.push(...page);
        return members.sort((a, b) => a.connectionId.localeCompare(b.connectionId));
      }

      it("a room's pages hold exactly its live members, with name and format, across pages", async function () {
        await dynamo.putConnections(tableName, [
          { id: "a1", expiresAt: LIVE, room: "alpha", name: "Ann", structured: true },
          { id: "a2", expiresAt: LIVE, room: "alpha", name: "Al" },
          { id: "a3", expiresAt: LIVE, room: "alpha" },
          { id: "ax", expiresAt: Math.floor(now / 1000) - 1, room: "alpha" },
          { id: "b1", expiresAt: LIVE, room: "beta" },
          { id: "g1", expiresAt: LIVE },
        ]);
        assert.deepEqual(await room("alpha"), [
          { connectionId: "a1", room: "alpha", name: "Ann", structured: true },
          { connectionId: "a2", room: "alpha", name: "Al", structured: false },
          { connectionId: "a3", room: "alpha", name: "anonymous", structured: false },
        ]);
        assert.deepEqual(ids(await room("beta")), ["b1"]);
        assert.deepEqual(ids(await room("general")), ["g1"]);
        assert.deepEqual(await room("nobody-here"), []);
      });

      it("gives each member's id, format and name, and leaves names out when told to", async function () {
        await dynamo.putConnections(tableName, [
          { id: "n1", expiresAt: LIVE, room: "named", name: "Ann", structured: true },
          { id: "n2", expiresAt: LIVE, room: "named", name: "Bob" },
        ]);
        const read = async (options: { names?: boolean }) => {
          const members: RoomMember[] = [];
          for await (const page of store.roomPages("named", options)) members.push(...page);
          return members.sort((a, b) => a.connectionId.localeCompare(b.connectionId));
        };
        assert.deepEqual(
          (await read({})).map(({ connectionId, structured, name }) => ({
            connectionId,
            structured,
            name,
          })),
          [
            { connectionId: "n1", structured: true, name: "Ann" },
            { connectionId: "n2", structured: false, name: "Bob" },
          ],
        );
        assert.deepEqual(
          (await read({ names: false })).map(({ connectionId, structured, name }) => ({
            connectionId,
            structured,
            name,
          })),
          [
            { connectionId: "n1", structured: true, name: "" },
            { connectionId: "n2", structured: false, name: "" },
          ],
        );
      });

      it("reads only a room's chat.v1 members when asked, by a range of the index, not a filter", async function () {
        await dynamo.putConnections(tableName, [
          { id: "s1", expiresAt: LIVE, room: "mixed", structured: true },
          { id: "p1", expiresAt: LIVE, room: "mixed" },
          { id: "s2", expiresAt: LIVE, room: "mixed", structured: true },
          { id: "p2", expiresAt: LIVE, room: "mixed" },
          { id: "s3", expiresAt: LIVE, room: "other", structured: true },
        ]);
        const structured: RoomMember[] = [];
        let pages = 0;
        for await (const page of store.roomPages("mixed", { structuredOnly: true })) {
          pages++;
          structured.push(...page);
        }
        assert.deepEqual(ids(structured).sort(), ["s1", "s2"]);
        // Pages of 2: the two chat.v1 members fill one, so the plain ones were never read.
        assert.ok(pages <= 2, `${pages} pages`);
        assert.deepEqual(ids(await room("mixed")), ["p1", "p2", "s1", "s2"]);
      });

      it("add writes what get reads back; remove returns the record it deleted", async function () {
        const record = {
          connectionId: "R1kmxc2VNjMCFIA=",
          room: "r.1",
          name: "Zoë 🙂",
          structured: true,
        };
        await store.add(record, now, 600);
        assert.deepEqual(await store.get(record.connectionId), record);
        assert.deepEqual(await room("r.1"), [record]);
        assert.deepEqual(await store.remove(record.connectionId), record);
        assert.equal(await store.get(record.connectionId), undefined);
        assert.equal(await store.remove(record.connectionId), undefined);
      });

      describe("forgetGone (the cleanup after a 410)", function () {
        const member = (connectionId: string) => ({
          connectionId,
          room: "general",
          name: "x",
          structured: false,
        });

        it("keeps a record written less than GONE_GRACE_MS ago: that client may still be connecting", async function () {
          await store.add(member("young"), now, 600, { now: now - GONE_GRACE_MS + 1_000 });
          // Another container's store: the age is checked by DynamoDB, not by the writer.
          const cleaner = new ConnectionStore(dynamo.client, tableName);
          assert.equal(await cleaner.forgetGone("young", { now }), false);
          assert.deepEqual(await dynamo.ids(tableName), ["young"]);
        });

        it("deletes a record written GONE_GRACE_MS ago or earlier", async function () {
          await store.add(member("old"), now - 60_000, 600, { now: now - GONE_GRACE_MS });
          assert.equal(await store.forgetGone("old", { now }), true);
          assert.deepEqual(await dynamo.ids(tableName), []);
        });

        it("deletes a record with no write time (older versions wrote none), and shrugs at a missing one", async function () {
          await dynamo.putConnections(tableName, [{ id: "legacy", expiresAt: LIVE }]);
          assert.equal(await store.forgetGone("legacy"), true);
          assert.equal(await store.forgetGone("never-there"), true);
          assert.deepEqual(await dynamo.ids(tableName), []);
        });

        it("waits out the up to 29 s API Gateway may take to finish a handshake after $connect wrote the record", function () {
          assert.ok(
            GONE_GRACE_MS > INTEGRATION_TIMEOUT_MS && GONE_GRACE_MS <= 60_000,
            String(GONE_GRACE_MS),
          );
        });

        it("passes any other DynamoDB error on", async function () {
          const missing = new ConnectionStore(dynamo.client, "no-such-table");
          await assert.rejects(missing.forgetGone("any"), { name: "ResourceNotFoundException" });
        });
      });

      it("get ignores a record past its expiry", async function () {
        await store.add(
          { connectionId: "old", room: "general", name: "x", structured: false },
          now - 700_000,
          600,
        );
        assert.equal(await store.get("old"), undefined);
      });
    });
  }
});
