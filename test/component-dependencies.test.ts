import { strict as assert } from "assert";
import { WebSocketChat } from "../components/web-socket-chat";
import { HANDLER_NAMES } from "../handlers/routes";
import { finishProgram, ProgramRecord, startProgram, TYPES } from "./support/component-mocks";

/** Every resource `name` waits for, directly or through the resources it waits for. */
function dependenciesOf(record: ProgramRecord, name: string): Set<string> {
  const seen = new Set<string>();
  const visit = (current: string) => {
    for (const dependency of record.named(current).dependsOn) {
      if (!seen.has(dependency)) {
        seen.add(dependency);
        visit(dependency);
      }
    }
  };
  visit(name);
  return seen;
}

describe("WebSocketChat component: what each route waits for", () => {
  let record: ProgramRecord;

  before(async () => {
    record = await startProgram();
    new WebSocketChat("chat", {});
    await finishProgram();
  });

  it("makes each route depend on its Lambda permission itself, not only through the integration", () => {
    // Changing messageRoute replaces the permission (new sourceArn) but updates the route in
    // place, and the auto-deploying stage serves the route as soon as it changes: without
    // this edge, the integration (unchanged) does not hold the route back.
    for (const handler of HANDLER_NAMES) {
      assert.ok(
        record.named(`chat-${handler}-route`).dependsOn.includes(`chat-${handler}-invoke`),
        `${handler} route must depend on its permission`,
      );
    }
  });

  it("goes live only once its integration, function, role policy and log group exist", () => {
    for (const handler of HANDLER_NAMES) {
      const waitsFor = dependenciesOf(record, `chat-${handler}-route`);
      for (const needed of ["integration", "invoke", "policy", "logs"])
        assert.ok(waitsFor.has(`chat-${handler}-${needed}`), `${handler} route needs ${needed}`);
      assert.ok(waitsFor.has(`chat-${handler}`), `${handler} route needs its function`);
    }
  });

  it("deploys the stage only after every route and everything each route needs", () => {
    const [stage] = record.ofType(TYPES.stage);
    const waitsFor = dependenciesOf(record, stage.name);
    const routes = record.ofType(TYPES.route);
    assert.equal(routes.length, HANDLER_NAMES.length, "one route per handler");
    for (const route of routes) {
      assert.ok(waitsFor.has(route.name), route.name);
      for (const dependency of dependenciesOf(record, route.name))
        assert.ok(waitsFor.has(dependency), `${stage.name} waits for ${dependency}`);
    }
  });
});
