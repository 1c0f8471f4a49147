import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { parse } from "yaml";
import { resolveSettings } from "../components/settings";
import { INPUT_ARGUMENTS } from "../components/web-socket-chat";
import {
  PACKAGE_DIR,
  PACKAGE_NAME,
  PackageSchema,
  packageJson,
  packageProvider,
  packageSchema,
  SchemaProperty,
} from "./support/component-package";
import { finishProgram, startProgram } from "./support/component-mocks";

/**
 * The schema `pulumi package add` generates every language's SDK from, held to the TypeScript
 * the component is written in: every argument and output the source declares is in the schema,
 * with the type, the documentation and the default the source gives it. Generic over the
 * declarations, so an argument added later in a form Pulumi cannot carry fails here.
 */

const TYPE = `${PACKAGE_NAME}:index:WebSocketChat`;
const typeRef = (name: string) => `#/types/${PACKAGE_NAME}:index:${name}`;

/** A property as the source writes it. */
interface Declared {
  name: string;
  optional: boolean;
  type: ts.TypeNode | undefined;
  /** Its TSDoc: the text before the first block tag, and the tags' names. */
  text: string;
  tags: string[];
  file: string;
}

interface Declarations {
  /** Interfaces and classes by name: their public properties. */
  shapes: Map<string, Declared[]>;
  /** Const objects (`{ ... } as const`) by name: their members, the schema's enums. */
  enums: Map<string, { name: string; value: string | number }[]>;
}

/** TSDoc text before the first block tag, on one line, and the block tags' names. */
function docOf(node: ts.Node, file: ts.SourceFile): { text: string; tags: string[] } {
  const docs = (node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
  const lines = docs.flatMap((doc) =>
    doc
      .getText(file)
      .replace(/^\/\*\*|\*\/$/g, "")
      .split("\n")
      .map((line) => line.replace(/^\s*\* ?/, "").trim()),
  );
  const firstTag = lines.findIndex((line) => line.startsWith("@"));
  const text = (firstTag < 0 ? lines : lines.slice(0, firstTag)).join(" ");
  const tags = lines.filter((line) => line.startsWith("@")).map((line) => line.split(/\s/)[0]);
  return { text: text.replace(/\s+/g, " ").trim(), tags };
}

/** What the program's own sources (not tests, not benchmarks) declare, read as written. */
function readDeclarations(): Declarations {
  const config = ts.readConfigFile(path.join(PACKAGE_DIR, "tsconfig.json"), (file) =>
    fs.readFileSync(file, "utf8"),
  );
  const { fileNames } = ts.parseJsonConfigFileContent(config.config, ts.sys, PACKAGE_DIR);
  const shapes = new Map<string, Declared[]>();
  const enums: Declarations["enums"] = new Map();
  const isPublic = (node: ts.Node) =>
    !(
      ts.getCombinedModifierFlags(node as ts.Declaration) &
      ts.ModifierFlags.NonPublicAccessibilityModifier
    );
  for (const fileName of fileNames) {
    const relative = path.relative(PACKAGE_DIR, fileName);
    if (/^(test|bench)\//.test(relative)) continue;
    const file = ts.createSourceFile(
      fileName,
      fs.readFileSync(fileName, "utf8"),
      ts.ScriptTarget.ES2022,
      true,
    );
    for (const statement of file.statements) {
      if (ts.isInterfaceDeclaration(statement) || ts.isClassDeclaration(statement)) {
        if (!statement.name) continue;
        const members = (statement.members as ts.NodeArray<ts.Node>).filter(
          (m): m is ts.PropertySignature | ts.PropertyDeclaration =>
            (ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) &&
            isPublic(m) &&
            !(ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Static),
        );
        shapes.set(
          statement.name.text,
          members.map((m) => ({
            name: m.name.getText(file),
            optional: m.questionToken !== undefined,
            type: m.type,
            ...docOf(m, file),
            file: relative,
          })),
        );
      } else if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          const init = declaration.initializer;
          if (
            ts.isIdentifier(declaration.name) &&
            init &&
            ts.isAsExpression(init) &&
            init.type.getText(file) === "const" &&
            ts.isObjectLiteralExpression(init.expression)
          ) {
            enums.set(
              declaration.name.text,
              init.expression.properties.filter(ts.isPropertyAssignment).map((p) => ({
                name: p.name.getText(file),
                value: ts.isNumericLiteral(p.initializer)
                  ? Number(p.initializer.text)
                  : (p.initializer as ts.StringLiteral).text,
              })),
            );
          }
        }
      }
    }
  }
  return { shapes, enums };
}

/** Where a `$ref` to an @pulumi package's resource points: the resource's own type token. */
function resourceRef(qualifiedName: string): string | undefined {
  const [pkg, ...members] = qualifiedName.split(".");
  if (pkg !== "aws") return undefined;
  let value: any = require("@pulumi/aws");
  for (const member of members) value = value?.[member];
  const token: string | undefined = value?.__pulumiType;
  const version: string = require("@pulumi/aws/package.json").version;
  return token && `/aws/v${version}/schema.json#/resources/${token.replace("/", "%2F")}`;
}

/**
 * The schema type a TypeScript type, as written, must come out as: its `type`/`$ref`, `items`
 * and `additionalProperties`, and whether it takes Inputs. Throws for anything else, naming it.
 */
function expectedType(
  node: ts.TypeNode | undefined,
  declared: Declarations,
  where: string,
): { shape: SchemaProperty; input: boolean } {
  const fail = (): never => {
    throw new Error(
      `${where}: type ${node?.getText() ?? "(none)"} is not one Pulumi's other languages can take ` +
        "(string, number, boolean, arrays, Record<string, T>, interfaces, const-object enums, " +
        "pulumi.Input/Output, @pulumi resources)",
    );
  };
  if (!node) return fail();
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { shape: { type: "string" }, input: false };
    case ts.SyntaxKind.NumberKeyword:
      return { shape: { type: "number" }, input: false };
    case ts.SyntaxKind.BooleanKeyword:
      return { shape: { type: "boolean" }, input: false };
  }
  if (ts.isArrayTypeNode(node)) {
    return {
      shape: { type: "array", items: expectedType(node.elementType, declared, `${where}[]`).shape },
      input: false,
    };
  }
  if (!ts.isTypeReferenceNode(node)) return fail();
  const name = node.typeName.getText();
  const [argument] = node.typeArguments ?? [];
  if (name === "pulumi.Input") return { ...expectedType(argument, declared, where), input: true };
  if (name === "pulumi.Output") return expectedType(argument, declared, where);
  if (name === "Array") {
    return {
      shape: { type: "array", items: expectedType(argument, declared, `${where}[]`).shape },
      input: false,
    };
  }
  if (name === "Record" && node.typeArguments?.[0].kind === ts.SyntaxKind.StringKeyword) {
    const values = expectedType(node.typeArguments[1], declared, `${where} values`).shape;
    return { shape: { type: "object", additionalProperties: values }, input: false };
  }
  if (declared.shapes.has(name) || declared.enums.has(name)) {
    return { shape: { $ref: typeRef(name) }, input: false };
  }
  const ref = resourceRef(name);
  return ref ? { shape: { $ref: ref }, input: false } : fail();
}

/** The type-identifying part of a schema property, to compare with `expectedType`. */
function shapeOf(property: SchemaProperty): SchemaProperty {
  return {
    ...(property.type !== undefined && { type: property.type }),
    ...(property.$ref !== undefined && { $ref: property.$ref }),
    ...(property.items && { items: shapeOf(property.items) }),
    ...(property.additionalProperties && {
      additionalProperties: shapeOf(property.additionalProperties),
    }),
  };
}

/** A value at a dotted path of an object, undefined where the path leaves it. */
function at(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>(
    (v, key) =>
      v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined,
    value,
  );
}

/** The literal a description states as its default ("Defaults to `14`."), when it is JSON. */
function statedDefault(description: string): { value: unknown } | undefined {
  const literal = /\bDefaults to\s+`([^`]+)`/.exec(description)?.[1];
  if (literal === undefined) return undefined;
  try {
    return { value: JSON.parse(literal) };
  } catch {
    return undefined;
  }
}

describe("the package schema (pulumi package add)", function () {
  // Inferring the schema type-checks the whole program once.
  this.timeout(120_000);

  let schema: PackageSchema;
  let declared: Declarations;
  before(async () => {
    declared = readDeclarations();
    schema = await packageSchema();
  });

  /** Each property of `shapeName` as declared, against `properties` in the schema, and on down. */
  function checkProperties(
    properties: Record<string, SchemaProperty>,
    shapeName: string,
    role: "input" | "output",
    path: string[],
    visit: (property: SchemaProperty, declaration: Declared, path: string[]) => void,
  ): void {
    const declarations = declared.shapes.get(shapeName);
    assert.ok(declarations, `${shapeName} is declared in the sources`);
    const where = path.length ? path.join(".") : shapeName;
    assert.deepEqual(
      Object.keys(properties).sort(),
      declarations.map((d) => d.name).sort(),
      `${where}: the schema has every property ${shapeName} declares, and no other`,
    );
    for (const declaration of declarations) {
      const propertyPath = [...path, declaration.name];
      const name = propertyPath.join(".");
      const property = properties[declaration.name];
      const expected = expectedType(declaration.type, declared, `${declaration.file}: ${name}`);
      assert.deepEqual(shapeOf(property), expected.shape, `${name}: type`);
      if (role === "input") {
        assert.equal(property.optional === true, declaration.optional, `${name}: optional`);
        assert.equal(property.plain === true, !expected.input, `${name}: takes Inputs`);
      }
      visit(property, declaration, propertyPath);
      const local = property.$ref?.startsWith("#/types/") ? property.$ref : property.items?.$ref;
      const typeName = local?.split(":").pop();
      if (typeName && declared.shapes.has(typeName)) {
        const type = schema.types[`${PACKAGE_NAME}:index:${typeName}`];
        assert.ok(type?.properties, `${name}: its type ${typeName} is in the schema`);
        checkProperties(type.properties, typeName, role, propertyPath, visit);
      }
    }
  }

  /** Every argument, with its declaration and path, nested ones included. */
  function eachInput(visit: (p: SchemaProperty, d: Declared, path: string[]) => void): void {
    checkProperties(
      schema.resources[TYPE].inputProperties,
      "WebSocketChatArgs",
      "input",
      [],
      visit,
    );
  }

  function eachOutput(visit: (p: SchemaProperty, d: Declared, path: string[]) => void): void {
    checkProperties(schema.resources[TYPE].properties, "WebSocketChat", "output", [], visit);
  }

  it("is this repository: the package.json name, version and description, one component", () => {
    assert.equal(schema.name, PACKAGE_NAME);
    assert.equal(schema.version, packageJson.version);
    assert.deepEqual(Object.keys(schema.resources), [TYPE]);
    assert.equal(schema.resources[TYPE].isComponent, true);
    assert.match(schema.resources[TYPE].description ?? "", /WebSocket chat/);
  });

  it("names every argument the source declares, nested ones too, with its type, optionality and whether it takes Inputs", () => {
    let count = 0;
    eachInput(() => count++);
    assert.ok(count >= 15, `walked ${count} arguments`);
  });

  it("names every output the class declares with its type, all of them always set", () => {
    const outputs: string[] = [];
    eachOutput((_p, _d, path) => outputs.push(path.join(".")));
    assert.ok(outputs.includes("url") && outputs.includes("handlers.message.function"));
    const { properties, required } = schema.resources[TYPE];
    assert.deepEqual([...required].sort(), Object.keys(properties).sort());
  });

  it("documents every argument and output with its whole TSDoc text, which survives into the schema", () => {
    const check = (property: SchemaProperty, declaration: Declared, path: string[]) => {
      const name = path.join(".");
      assert.ok(declaration.text.length > 10, `${name} (${declaration.file}): has TSDoc`);
      // Pulumi keeps only the text before the first tag: an "@" inside a sentence cuts it short.
      assert.equal(
        (property.description ?? "").replace(/\s+/g, " ").trim(),
        declaration.text,
        `${name}: the schema's description is the whole TSDoc text`,
      );
    };
    eachInput(check);
    eachOutput(check);
  });

  it("states each optional argument's default in its text, as the SDKs show it, and that default is the one applied", () => {
    const resolved = resolveSettings({}, "dev");
    let compared = 0;
    eachInput((property, declaration, path) => {
      const name = path.join(".");
      assert.ok(
        !declaration.tags.includes("@default"),
        `${name} (${declaration.file}): state the default in the text ("Defaults to ..."): ` +
          "Pulumi drops TSDoc tags, so an @default would never reach the other languages",
      );
      if (!declaration.optional) return;
      assert.match(property.description ?? "", /\bDefaults( to|:)/, `${name}: states its default`);
      const stated = statedDefault(property.description ?? "");
      const applied = at(resolved, path);
      if (stated && applied !== undefined) {
        assert.deepEqual(applied, stated.value, `${name}: the default applied is the one stated`);
        compared++;
      }
    });
    assert.ok(compared >= 8, `compared ${compared} stated defaults with the applied ones`);
  });

  it("takes Inputs exactly where the source says so, and INPUT_ARGUMENTS lists those arguments", () => {
    const inputs: string[] = [];
    eachInput((property, _declaration, path) => {
      if (!property.plain) inputs.push(path.join("."));
    });
    assert.ok(inputs.includes("kmsKeyArn"), "a KMS key comes from another resource");
    assert.deepEqual([...INPUT_ARGUMENTS].sort(), inputs.sort());
  });

  it("offers each enum's members, as the TypeScript const object lists them", () => {
    const entry = require(PACKAGE_DIR) as Record<string, unknown>;
    const enums = Object.entries(schema.types).filter(([, type]) => type.enum);
    assert.ok(enums.length >= 1, "LambdaArchitecture at least");
    for (const [token, type] of enums) {
      const name = token.split(":").pop()!;
      assert.deepEqual(
        type.enum!.map(({ name, value }) => ({ name, value })),
        declared.enums.get(name),
        `${name}: the members the source lists`,
      );
      assert.deepEqual(
        type.enum!.map(({ value }) => value),
        Object.values(entry[name] as object),
        `${name}: exported by the package entry, with the same values`,
      );
    }
  });

  it("has no property of type Any, which would carry no type to any SDK", () => {
    const text = JSON.stringify(schema);
    assert.ok(!text.includes("pulumi.json#/Any"), "some property is typed any");
  });

  it("refers to @pulumi/aws at the installed version, the only other package it needs", () => {
    const aws = require("@pulumi/aws/package.json").version;
    assert.deepEqual(schema.dependencies, [{ name: "aws", version: aws }]);
  });
});

describe("the repository as a Pulumi package and as a Pulumi program", () => {
  it("declares a Node.js plugin in PulumiPlugin.yaml", () => {
    const plugin = parse(fs.readFileSync(path.join(PACKAGE_DIR, "PulumiPlugin.yaml"), "utf8"));
    assert.deepEqual(plugin, { runtime: "nodejs" });
  });

  it("names the package as the component's type does, which construct requires", async () => {
    assert.equal(PACKAGE_NAME, "websocket-chat");
    // Constructing any other package's type is refused before anything is created.
    await assert.rejects(
      packageProvider().construct("chat", "chat:index:WebSocketChat", {}, {}),
      /Invalid package name chat, expected 'websocket-chat'/,
    );
  });

  it("loads the component from package.json's main, and loading it creates nothing", async () => {
    assert.equal(packageJson.main, "components/web-socket-chat.ts");
    const resolved = require.resolve(PACKAGE_DIR);
    const loaded = require.cache[resolved];
    const record = await startProgram();
    delete require.cache[resolved];
    const entry = require(PACKAGE_DIR) as Record<string, unknown>;
    require.cache[resolved] = loaded;
    await finishProgram();
    assert.equal(resolved, path.join(PACKAGE_DIR, "components", "web-socket-chat.ts"));
    assert.equal(typeof entry.WebSocketChat, "function");
    assert.deepEqual(record.resources, []);
  });

  it("keeps index.ts as the stack program, through Pulumi.yaml's main", () => {
    const project = parse(fs.readFileSync(path.join(PACKAGE_DIR, "Pulumi.yaml"), "utf8"));
    assert.equal(project.main, "index.ts");
    assert.ok(fs.existsSync(path.join(PACKAGE_DIR, project.main)));
  });
});
