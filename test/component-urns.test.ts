import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  finishProgram,
  PROJECT,
  RecordedResource,
  startProgram,
  STACK,
  urnOf,
} from "./support/component-mocks";

/**
 * The stack as deployed users have it: every resource's URN and inputs, recorded from the
 * program before a refactoring and committed (test/fixtures/stack-resources.json). A URN that
 * changes makes `pulumi up` replace the resource (a new table, a new API URL), unless the new
 * resource carries an alias to the old URN; an input that changes is an update nobody asked
 * for. Regenerate only for a change meant to reach deployed stacks:
 * `UPDATE_STACK_FIXTURE=1 npx mocha test/component-urns.test.ts`.
 */

const ROOT = path.resolve(__dirname, "..");
const PROGRAM = path.join(ROOT, "index.ts");
const FIXTURE = path.join(__dirname, "fixtures", "stack-resources.json");
const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** Stack configurations that between them create every resource and every grant's variant. */
const SCENARIOS: Record<string, { config: Record<string, string>; secretKeys: string[] }> = {
  "Pulumi.yaml's defaults": { config: {}, secretKeys: [] },
  "access control, a KMS key, no history, no presence notices, no rate limit": {
    config: {
      accessToken: "tok-0123456789-ABCDEFGHIJ-secret",
      authIssuer: "https://issuer.example.com/",
      authAudience: "client-123",
      authJwksUri: "https://issuer.example.com/keys",
      kmsKeyArn: KEY_ARN,
      historyRetentionSeconds: "0",
      presenceNotices: "false",
      messageRateBurst: "0",
    },
    secretKeys: ["accessToken"],
  },
};

interface Fixture {
  [scenario: string]: { [urn: string]: Record<string, unknown> };
}

const configSchema: Record<string, { default?: unknown }> = parse(
  fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"),
).config;

/** Runs index.ts afresh, as `pulumi up` would, with Pulumi.yaml's defaults under `config`. */
async function synthesize(
  config: Record<string, string>,
  secretKeys: string[],
): Promise<RecordedResource[]> {
  const defaults = Object.fromEntries(
    Object.entries(configSchema).map(([key, schema]) => [key, String(schema.default)]),
  );
  const record = await startProgram(
    Object.fromEntries(
      Object.entries({ ...defaults, ...config }).map(([key, value]) => [
        `${PROJECT}:${key}`,
        value,
      ]),
    ),
    undefined,
    undefined,
    secretKeys.map((key) => `${PROJECT}:${key}`),
  );
  delete require.cache[require.resolve(PROGRAM)];
  try {
    require(PROGRAM);
  } finally {
    await finishProgram();
  }
  return record.resources;
}

/**
 * A resource's inputs as the fixture keeps them: a function's code is left out (the bundle is
 * the handlers' business, and changes with them; its archive's shape is tested elsewhere).
 */
function recordedInputs(resource: RecordedResource): Record<string, unknown> {
  const inputs = JSON.parse(JSON.stringify(resource.inputs));
  delete inputs.code;
  return inputs;
}

/**
 * The URNs a resource's aliases name, resolved as the engine resolves an alias spec: a field
 * left unset is the resource's own (name, type, stack, project), the parent its current one
 * unless the spec names another or none.
 */
function aliasUrns(resource: RecordedResource, byName: Map<string, RecordedResource>): string[] {
  const parentUrn = resource.parent ? byName.get(resource.parent)?.urn : undefined;
  return resource.aliases.map((alias) =>
    urnOf(
      alias.name ?? resource.name,
      alias.type ?? resource.type,
      alias.noParent ? undefined : (alias.parentUrn ?? parentUrn),
      alias.stack ?? STACK,
      alias.project ?? PROJECT,
    ),
  );
}

describe("the stack's URNs and inputs, against those recorded before the refactoring", () => {
  const fixture: Fixture = fs.existsSync(FIXTURE)
    ? JSON.parse(fs.readFileSync(FIXTURE, "utf8"))
    : {};
  const updated: Fixture = {};

  after(() => {
    if (process.env.UPDATE_STACK_FIXTURE) {
      fs.writeFileSync(FIXTURE, JSON.stringify(updated, null, 2) + "\n");
    }
  });

  for (const [scenario, { config, secretKeys }] of Object.entries(SCENARIOS)) {
    it(`keeps every resource of a stack with ${scenario}, under its URN or an alias of it`, async () => {
      const resources = await synthesize(config, secretKeys);
      updated[scenario] = Object.fromEntries(
        resources.map((resource) => [resource.urn, recordedInputs(resource)]),
      );
      if (process.env.UPDATE_STACK_FIXTURE) return;

      const recorded = fixture[scenario];
      assert.ok(recorded, `the fixture records a stack with ${scenario}`);
      const byName = new Map(resources.map((resource) => [resource.name, resource]));
      const carried = new Set<string>();
      for (const resource of resources) {
        // The recorded URN this resource is: its own, or the one an alias carries over.
        const urn = [resource.urn, ...aliasUrns(resource, byName)].find((candidate) =>
          Object.hasOwn(recorded, candidate),
        );
        assert.ok(urn, `${resource.urn} is new: it aliases no recorded URN`);
        assert.ok(!carried.has(urn), `two resources claim ${urn}`);
        carried.add(urn);
        // An input under ignoreChanges keeps its deployed value (names chosen once at random).
        // Values derived from such a name (a log group's ARN in a policy) carry its random part.
        const kept = (inputs: Record<string, unknown>) =>
          JSON.parse(
            JSON.stringify(
              Object.fromEntries(
                Object.entries(inputs).filter(([key]) => !resource.ignoreChanges.includes(key)),
              ),
            ).replace(/-[0-9a-f]{8}\b/g, "-<random>"),
          );
        assert.deepEqual(
          kept(recordedInputs(resource)),
          kept(recorded[urn]),
          `the inputs of ${urn}`,
        );
      }
      const gone = Object.keys(recorded).filter((urn) => !carried.has(urn));
      assert.deepEqual(
        gone,
        [],
        "recorded resources the stack no longer has (pulumi up deletes them)",
      );
    });
  }
});
