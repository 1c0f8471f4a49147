import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  PACKAGE_DIR,
  PACKAGE_NAME,
  PackageSchema,
  packageSchema,
  SchemaProperty,
} from "./support/component-package";

/**
 * examples/ holds the chat as a Python and as a YAML program that use the package. No Pulumi CLI
 * runs here to generate their SDKs, so these tests hold the programs to the schema those SDKs
 * come from: every name they use is an argument or output the schema has, in that language's
 * spelling.
 */

const TYPE = `${PACKAGE_NAME}:index:WebSocketChat`;
const EXAMPLES = path.join(PACKAGE_DIR, "examples");

/** Every argument name in the schema, nested ones included, by the object they belong to. */
function inputNames(schema: PackageSchema): Set<string> {
  const names = new Set<string>();
  const visit = (properties: Record<string, SchemaProperty>) => {
    for (const [name, property] of Object.entries(properties)) {
      names.add(name);
      const ref = property.$ref?.startsWith("#/types/") && property.$ref.slice("#/types/".length);
      const nested = ref ? schema.types[ref]?.properties : undefined;
      if (nested) visit(nested);
    }
  };
  visit(schema.resources[TYPE].inputProperties);
  return names;
}

// An argument named like a Python keyword gets a trailing underscore in the SDK.
const PYTHON_KEYWORDS = new Set(
  (
    "and as assert async await break class continue def del elif else except finally for from " +
    "global if import in is lambda nonlocal not or pass raise return try while with yield"
  ).split(" "),
);

/** A schema name as Pulumi's Python SDKs spell it: snake_case, `lambda_` for a keyword. */
function pythonName(name: string): string {
  const snake = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
  return PYTHON_KEYWORDS.has(snake) ? `${snake}_` : snake;
}

describe("examples/: the chat from other languages, through the package", function () {
  this.timeout(120_000);
  let schema: PackageSchema;
  before(async () => {
    schema = await packageSchema();
  });

  describe("yaml", () => {
    const program = parse(fs.readFileSync(path.join(EXAMPLES, "yaml", "Pulumi.yaml"), "utf8"));

    it("is a YAML program with one WebSocketChat of the package's type", () => {
      assert.equal(program.runtime, "yaml");
      const resources = Object.values<{ type: string }>(program.resources);
      assert.deepEqual(
        resources.map((r) => r.type),
        [TYPE],
      );
    });

    it("sets only arguments the schema has, with values of their types", () => {
      const check = (
        values: Record<string, unknown>,
        properties: Record<string, SchemaProperty>,
        where: string,
      ) => {
        for (const [key, value] of Object.entries(values)) {
          const property = properties[key];
          assert.ok(property, `${where}${key} is an argument of ${TYPE}`);
          const ref = property.$ref?.slice("#/types/".length);
          const type = ref ? schema.types[ref] : undefined;
          if (type?.enum) {
            assert.ok(
              type.enum.some((member) => member.value === value),
              `${where}${key}: ${String(value)} is one of its enum's values`,
            );
          } else if (type?.properties) {
            check(value as Record<string, unknown>, type.properties, `${where}${key}.`);
          } else if (property.type === "object") {
            assert.equal(typeof value, "object", `${where}${key}`);
          } else {
            assert.equal(typeof value, property.type, `${where}${key}`);
          }
        }
      };
      const [chat] = Object.values<{ properties: Record<string, unknown> }>(program.resources);
      check(chat.properties, schema.resources[TYPE].inputProperties, "");
    });

    it("exports the component's url, managementEndpoint and tableName", () => {
      const outputs = Object.keys(schema.resources[TYPE].properties);
      for (const [key, value] of Object.entries(program.outputs as Record<string, string>)) {
        const match = /^\$\{chat\.(\w+)\}$/.exec(value);
        assert.ok(match && outputs.includes(match[1]), `${key}: ${value} is an output`);
      }
      assert.deepEqual(Object.keys(program.outputs), ["url", "managementEndpoint", "tableName"]);
    });
  });

  describe("python", () => {
    const source = fs.readFileSync(path.join(EXAMPLES, "python", "__main__.py"), "utf8");

    it("imports the SDK pulumi package add generates for the package", () => {
      assert.match(source, new RegExp(`^import pulumi_${PACKAGE_NAME.replace(/-/g, "_")} as`, "m"));
      const project = parse(fs.readFileSync(path.join(EXAMPLES, "python", "Pulumi.yaml"), "utf8"));
      assert.equal(project.runtime.name, "python");
    });

    it("passes only arguments the schema has, in Python's spelling", () => {
      const known = new Set([...inputNames(schema)].map(pythonName));
      const call = /WebSocketChat\(\s*"chat",([\s\S]*?)\n\)/.exec(source);
      assert.ok(call, "one WebSocketChat(...) call");
      // A map's keys (tags) are the caller's own, not argument names.
      const maps = Object.entries(schema.resources[TYPE].inputProperties)
        .filter(([, property]) => property.additionalProperties)
        .map(([name]) => pythonName(name));
      const args = call[1].replace(/^\s{4}(\w+)=\{[^}]*\}/gm, (text, name: string) =>
        maps.includes(name) ? `    ${name}=...` : text,
      );
      const used = [
        ...[...args.matchAll(/^\s{4}(\w+)=/gm)].map((m) => m[1]),
        ...[...args.matchAll(/"(\w+)":/g)].map((m) => m[1]),
      ];
      assert.ok(used.length >= 8, `found ${used.length} argument names`);
      for (const name of used) assert.ok(known.has(name), `${name} is an argument`);
    });

    it("uses only enum members the schema has", () => {
      for (const [, enumName, member] of source.matchAll(/websocket_chat\.(\w+)\.([A-Z0-9_]+)/g)) {
        const type = schema.types[`${PACKAGE_NAME}:index:${enumName}`];
        assert.ok(type?.enum, `${enumName} is an enum`);
        assert.ok(
          type.enum.some((m) => pythonName(m.name).toUpperCase() === member),
          `${enumName}.${member} is one of its members`,
        );
      }
    });

    it("exports the component's url, managementEndpoint and tableName", () => {
      const outputs = Object.keys(schema.resources[TYPE].properties);
      const exported = [...source.matchAll(/pulumi\.export\("(\w+)", chat\.(\w+)\)/g)];
      assert.deepEqual(
        exported.map((m) => m[1]),
        ["url", "managementEndpoint", "tableName"],
      );
      for (const [, key, attribute] of exported) {
        assert.equal(attribute, pythonName(key), `${key} in Python's spelling`);
        assert.ok(outputs.includes(key), `${key} is an output`);
      }
    });
  });
});
