import { strict as assert } from "assert";
import { WebSocketChat } from "../components/web-socket-chat";
import { HANDLER_NAMES } from "../handlers/routes";
import {
  finishProgram,
  ProgramRecord,
  RecordedResource,
  startProgram,
  TYPES,
} from "./support/component-mocks";

/**
 * Which input holds each resource type's name in AWS, and the rule AWS applies to it. A name
 * the program leaves out is Pulumi's auto-name: the logical name, "-" and 7 random characters
 * (refused at preview when that passes the provider's maximum).
 */
interface NameRule {
  field: string;
  pattern: RegExp;
}
const NAME_RULES: Record<string, NameRule | "none"> = {
  // API Gateway CreateApi: Name, 1 to 128 characters.
  [TYPES.api]: { field: "name", pattern: /^.{1,128}$/ },
  // API Gateway stage names: letters, digits, "-" and "_", at most 128.
  [TYPES.stage]: { field: "name", pattern: /^[A-Za-z0-9_-]{1,128}$/ },
  // DynamoDB table names: 3 to 255 of [A-Za-z0-9_.-].
  [TYPES.table]: { field: "name", pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  // Lambda function names: at most 64 of [A-Za-z0-9_-].
  [TYPES.function]: { field: "name", pattern: /^[A-Za-z0-9_-]{1,64}$/ },
  // IAM role names: at most 64 of [\w+=,.@-].
  [TYPES.role]: { field: "name", pattern: /^[\w+=,.@-]{1,64}$/ },
  // IAM inline policy names: at most 128 of [\w+=,.@-].
  [TYPES.rolePolicy]: { field: "name", pattern: /^[\w+=,.@-]{1,128}$/ },
  // CloudWatch Logs group names: at most 512 of [.\-_/#A-Za-z0-9].
  [TYPES.logGroup]: { field: "name", pattern: /^[.\-_/#A-Za-z0-9]{1,512}$/ },
  // Lambda AddPermission StatementId: at most 100 of [A-Za-z0-9_-].
  [TYPES.permission]: { field: "statementId", pattern: /^[A-Za-z0-9_-]{1,100}$/ },
  // Named by AWS (ids), or not AWS resources at all.
  [TYPES.route]: "none",
  [TYPES.integration]: "none",
  [TYPES.component]: "none",
};

/** The name `resource` gets in AWS, as Pulumi would auto-name it when the program does not. */
function physicalName(resource: RecordedResource, rule: NameRule): string {
  return (resource.inputs[rule.field] as string | undefined) ?? `${resource.name}-1a2b3c4`;
}

async function deploy(...names: string[]): Promise<ProgramRecord> {
  return deployIn({}, ...names);
}

/** The chats `names` in one stack of one project, deployed to one region. */
async function deployIn(
  where: { project?: string; stack?: string; region?: string },
  ...names: string[]
): Promise<ProgramRecord> {
  const record = await startProgram({}, where.stack, where.region, [], where.project);
  for (const name of names) new WebSocketChat(name, {});
  await finishProgram();
  return record;
}

// Named in AWS by the program: IAM role names are unique per account, Lambda function and log
// group names per account and region.
const NAMED_TYPES = [TYPES.role, TYPES.function, TYPES.logGroup];

function physicalNames(record: ProgramRecord): string[] {
  return NAMED_TYPES.flatMap((type) =>
    record.ofType(type).map((r) => `${type} ${r.inputs.name as string}`),
  );
}

function assertEveryNameValid(record: ProgramRecord): void {
  for (const resource of record.resources) {
    const rule = NAME_RULES[resource.type];
    assert.ok(rule, `${resource.type}: add its AWS naming rule to NAME_RULES`);
    if (rule === "none") continue;
    const name = physicalName(resource, rule);
    assert.match(
      name,
      rule.pattern,
      `${resource.type} ${resource.name}: "${name}" (${name.length})`,
    );
  }
}

describe("WebSocketChat component: physical names AWS accepts, for any name it accepts", () => {
  it("fits every generated name within AWS's limits for a 60-character component name", async () => {
    const name = "c".repeat(60);
    assertEveryNameValid(await deploy(name));
  });

  it("fits them for the longest name it accepts (64), and for a one-character name", async () => {
    assertEveryNameValid(await deploy("l".repeat(64), "x"));
  });

  it("keeps functions and roles of long names that differ only at the end apart", async () => {
    const record = await deploy(`${"n".repeat(63)}1`, `${"n".repeat(63)}2`);
    for (const type of [TYPES.function, TYPES.role]) {
      const names = record.ofType(type).map((r) => r.inputs.name as string);
      assert.equal(names.length, 2 * HANDLER_NAMES.length);
      assert.equal(new Set(names.map((n) => n.toLowerCase())).size, names.length, type);
    }
  });

  it("names each role after its function, within IAM's 64 characters", async () => {
    const record = await deploy("c".repeat(60));
    const roles = record.ofType(TYPES.role);
    assert.equal(roles.length, HANDLER_NAMES.length, "one role per function");
    for (const role of roles) {
      const fn = record.named(role.name.replace(/-role$/, ""));
      assert.equal(role.inputs.name, fn.inputs.name);
    }
  });

  it("fits them for the longest project and stack names Pulumi allows (100 characters)", async () => {
    const record = await deployIn(
      { project: "p".repeat(100), stack: "s".repeat(100) },
      "c".repeat(64),
    );
    assertEveryNameValid(record);
  });

  it("never gives two stacks the same role, function or log group names, whatever they share", async () => {
    // Stack names are unique only per organization or backend, and IAM role names per account:
    // two people who each run `pulumi stack init dev` may deploy into one account and region.
    const stacks = [
      {},
      {},
      { project: "other-project" },
      { region: "eu-west-1" },
      { project: "other-project", region: "us-east-1" },
    ];
    const namesOf: string[][] = [];
    for (const where of stacks) {
      const names = physicalNames(await deployIn({ stack: "dev", ...where }, "chat"));
      assert.equal(new Set(names).size, 3 * HANDLER_NAMES.length);
      namesOf.push(names.map((name) => name.toLowerCase()));
    }
    for (const [i, names] of namesOf.entries()) {
      for (const other of namesOf.slice(i + 1)) {
        assert.deepEqual(
          names.filter((name) => other.includes(name)),
          [],
        );
      }
    }
  });

  it("keeps each of those names once deployed, so an update never renames (or replaces) them", async () => {
    const record = await deploy("chat");
    for (const type of NAMED_TYPES) {
      for (const resource of record.ofType(type)) {
        assert.deepEqual(resource.ignoreChanges, ["name"], `${type} ${resource.name}`);
      }
    }
  });

  it("refuses a name AWS names could not start with, saying why", async () => {
    await startProgram();
    try {
      for (const name of ["", "team.chat", "my chat", "chät", "a/b", "c".repeat(65)]) {
        assert.throws(
          () => new WebSocketChat(name, {}),
          (err: Error) =>
            err.message.includes(`"${name}"`) &&
            err.message.includes('1 to 64 letters, digits, "-" or "_"'),
          JSON.stringify(name),
        );
      }
    } finally {
      await finishProgram();
    }
  });
});
