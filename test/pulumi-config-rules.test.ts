import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { chatArgsFromStackConfig } from "../components/stack-config";
import { resolveSettings } from "../components/settings";
import { loadProject, mergeConfig, Project, stackValueOf } from "../local/pulumi-config-rules";
import { readStackFiles } from "../local/stack-files";
import {
  configSet,
  documentedConfigSets,
  projectIn,
  ROOT,
  stackFiles,
  upConfig,
} from "./support/pulumi-stack";

/**
 * The Pulumi CLI's project-config rules, ported from its source (pulumi/pulumi at
 * 1b5949891b3cefcb9974752b24a5ecef0acc86c8: pkg/workspace/config.go `mergeConfig`,
 * `validateStackConfigValues`; sdk/go/common/workspace/project.go `ValidateConfigValue`,
 * `Project.Validate`), applied to this project: a fresh stack, every stack file, and every value
 * the docs tell users to set. `pulumi up` runs these before the program; nobody can run it here.
 */

/** A project from Pulumi.yaml text, loaded by the CLI's rules. */
const projectOf = (lines: string[]): Project => loadProject(parse(lines.join("\n")));

/** `pulumi up`'s config step for stack `dev` with `stack` (keys as a stack file writes them). */
const up = (project: Project, stack: Record<string, unknown> = {}) =>
  mergeConfig(
    "dev",
    project,
    Object.fromEntries(Object.entries(stack).map(([k, v]) => [k, stackValueOf(v)])),
  );

describe("the Pulumi CLI's config rules, as ported", () => {
  it("refuses a secret key with a default on every stack that leaves it unset (pulumi/pulumi#21865)", () => {
    const project = projectOf([
      "name: p",
      "config:",
      "  token:",
      "    type: string",
      "    secret: true",
      '    default: ""',
    ]);
    assert.throws(
      () => up(project),
      /^Error: Stack 'dev' with configuration key 'token' must be encrypted as it's secret$/,
    );
    up(project, { "p:token": { secure: "AAABAMk=" } });
  });

  it("requires a project key declared without a default, naming every missing one", () => {
    const project = projectOf(["name: p", "config:", "  a: { type: string }", "  b: {}"]);
    assert.throws(
      () => up(project),
      /^Error: Stack 'dev' is missing configuration values 'a' and 'b'$/,
    );
    assert.throws(() => up(project, { a: "x" }), /missing configuration value 'b'$/);
  });

  it("takes an integer only as strconv.Atoi does: no fraction, exponent, space or decimal point", () => {
    const project = projectOf([
      "name: p",
      "config:",
      "  n:",
      "    type: integer",
      "    default: 1",
    ]);
    for (const taken of ["5", "+5", "-5", "0", 7, "9223372036854775807"]) up(project, { n: taken });
    for (const refused of ["0.5", 0.5, "1e3", " 5", "5.0", "", "0x10", "9223372036854775808"]) {
      assert.throws(
        () => up(project, { n: refused }),
        /Stack 'dev' with configuration key 'n' must be of type 'integer'/,
        JSON.stringify(refused),
      );
    }
  });

  it("takes booleans as true and false, and anything as a string", () => {
    const project = projectOf([
      "name: p",
      "config:",
      "  b: { type: boolean, default: true }",
      '  s: { type: string, default: "" }',
    ]);
    up(project, { b: "false", s: 0.5 });
    up(project, { b: false, s: true });
    assert.throws(() => up(project, { b: "yes" }), /key 'b' must be of type 'boolean'/);
  });

  it("validates Pulumi.yaml itself: defaults of their type, no default for another namespace, known types", () => {
    const refused: [string[], RegExp][] = [
      [
        ["  n: { type: integer, default: 0.5 }"],
        /default value specified for configuration key 'n' is not of the expected type 'integer'/,
      ],
      [["  s: { type: string, default: 50 }"], /not of the expected type 'string'/],
      [["  aws:region: { default: eu-west-1 }"], /should not define a default value/],
      [["  aws:region: { type: string, value: eu-west-1 }"], /should not define a type/],
      [["  x: { type: number, default: 1 }"], /#\/config\/x\/type/],
      [["  x: { default: 1, value: 2 }"], /cannot have both a 'default' and 'value'/],
      [["  x: { type: array, default: [] }"], /does not specify the underlying type/],
    ];
    for (const [lines, message] of refused) {
      assert.throws(() => projectOf(["name: p", "config:", ...lines]), message, lines[0]);
    }
    // Shorthand: a project key's value is its default, another namespace's a value.
    const project = projectOf(["name: p", "config:", "  x: 3", "  aws:region: eu-west-1"]);
    assert.deepEqual(project.config, { x: { default: 3 }, "aws:region": { value: "eu-west-1" } });
  });

  it("reads a stack file's values as the CLI does: numbers and booleans as text, secure encrypted", () => {
    assert.deepEqual(stackValueOf(0.5), { text: "0.5", secure: false, object: false });
    assert.deepEqual(stackValueOf(true), { text: "true", secure: false, object: false });
    assert.deepEqual(stackValueOf({ secure: "AAAB" }), {
      text: "AAAB",
      secure: true,
      object: false,
    });
    assert.deepEqual(stackValueOf([1]), { text: "[1]", secure: false, object: true });
  });
});

describe("this project under the Pulumi CLI's config rules", () => {
  it("loads Pulumi.yaml, and the examples' projects", () => {
    projectIn(ROOT);
    for (const example of fs.readdirSync(path.join(ROOT, "examples"))) {
      projectIn(path.join(ROOT, "examples", example));
    }
  });

  it("deploys a fresh stack: `pulumi stack init dev`, then `pulumi up` with only Pulumi.yaml's defaults", () => {
    const { config, secretKeys } = upConfig("dev", "");
    assert.deepEqual(secretKeys, []);
    assert.equal(config["websocket-chat:accessToken"], "");
    // And the program takes what the CLI handed it (test/component-stack.test.ts runs it).
    resolveSettings(
      chatArgsFromStackConfig({ get: (key) => config[`websocket-chat:${key}`] }),
      "dev",
    );
  });

  it("accepts every Pulumi.<stack>.yaml in the repository", () => {
    const files = stackFiles();
    assert.ok(files.includes(path.join(ROOT, "Pulumi.dev.yaml")));
    for (const file of files) {
      const stack = path.basename(file).split(".")[1];
      upConfig(stack, fs.readFileSync(file, "utf8"), projectIn(path.dirname(file)));
    }
  });

  it("accepts every value the README and Pulumi.yaml tell users to set, each on a fresh stack and all at once", () => {
    const sets = documentedConfigSets();
    const keys = sets.map((set) => set.key);
    for (const key of ["accessToken", "authIssuer", "authAudience", "routeSelectionExpression"]) {
      assert.ok(keys.includes(key), `the docs set ${key}`);
    }
    assert.ok(sets.find((set) => set.key === "accessToken")!.secret, "accessToken with --secret");
    let all = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    for (const set of sets) {
      upConfig("dev", configSet("", "websocket-chat", set));
      all = configSet(all, "websocket-chat", set);
    }
    upConfig("dev", all);
  });

  it("accepts fractions for the rates Pulumi.yaml describes as numbers", () => {
    for (const key of ["throttleRateLimit", "messageRatePerSecond"]) {
      for (const value of ["0.5", "2.5", "50"]) {
        const { config } = upConfig(
          "dev",
          configSet("", "websocket-chat", { key, value, secret: false }),
        );
        assert.equal(config[`websocket-chat:${key}`], value);
      }
    }
  });
});

describe("local mode refuses whatever `pulumi up` refuses", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-agreement-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Values a user might type for any key: numbers in every spelling, flags, names, nothing.
  const CANDIDATES = [
    "0",
    "1",
    "7",
    "14",
    "0.5",
    "2.5",
    "1e3",
    " 50",
    "50.0",
    "+50",
    "-1",
    "",
    "abc",
    "true",
    "false",
    "nodejs22.x",
    "x86_64",
    "3008",
    "$request.body.message",
    "pushmessage",
    "q+Zk/8Wm3aX+1v/Ty0pL9e4r+Hs2Nc7u/Jd5oQbFgiE=",
  ];

  it("for every key Pulumi.yaml declares and every candidate value, set in Pulumi.dev.yaml", () => {
    const project = projectIn();
    let agreedAccepted = 0;
    for (const key of Object.keys(project.config)) {
      for (const value of CANDIDATES) {
        const stackYaml = configSet("", project.name, { key, value, secret: false });
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), stackYaml);
        let local = true;
        try {
          resolveSettings(chatArgsFromStackConfig(readStackFiles("dev", dir).config), "dev");
        } catch {
          local = false;
        }
        let cli = true;
        try {
          upConfig("dev", stackYaml, project);
        } catch {
          cli = false;
        }
        if (local) {
          assert.ok(
            cli,
            `local mode runs ${key}=${JSON.stringify(value)}, which pulumi up refuses`,
          );
          agreedAccepted++;
        }
      }
    }
    assert.ok(agreedAccepted > 50, "most values are taken by both");
  });
});
