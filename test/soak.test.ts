import { strict as assert } from "assert";
import { brokenFloors, runSoak } from "../bench/soak";
import { STARTUP_MS } from "./support/within";

// `npm run soak` at a size that fits in npm test: the same code, the same npm start in a process
// of its own, and the correctness floors. Never its timings or memory: those are the full run's.
describe("npm run soak, short (bench/soak.ts)", function () {
  this.timeout(STARTUP_MS + 90_000);

  it("loses and duplicates no copy for clients connected throughout, sends no error for a delivered message, and leaves the table exact", async () => {
    const clients = 20;
    const messages = 3;
    const report = await runSoak({
      clients,
      messages,
      churn: 80,
      churners: 4,
      thinkMs: 300,
      concurrency: 2,
      timeoutMs: 90_000,
      idleSettleMs: 0,
      log: () => {},
    });
    assert.deepEqual(brokenFloors(report), [], JSON.stringify(report, null, 2));
    assert.equal(report.sent, clients * messages);
    assert.equal(report.expected, (report.sent - report.refused) * clients);
    assert.equal(report.delivered, report.expected);
    assert.equal(report.churn.cycles, 80);
    assert.deepEqual(report.table, { whileConnected: clients, connected: clients, atEnd: 0 });
  });
});
