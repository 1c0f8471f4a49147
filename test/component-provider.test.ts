import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { WebSocketChat, WebSocketChatArgs } from "../components/web-socket-chat";
import { HANDLER_NAMES } from "../handlers/routes";
import {
  finishProgram,
  ProgramRecord,
  RecordedResource,
  startProgram,
  TYPES,
  valueOf,
} from "./support/component-mocks";
import {
  PACKAGE_NAME,
  packageProvider,
  packageSchema,
  SchemaProperty,
} from "./support/component-package";

/**
 * A Python, Go, .NET, Java or YAML program gets the component through the package's provider:
 * its SDK sends the arguments over the wire, and the provider's `construct` builds the component
 * from them. These tests construct it that way, under the same mocks as test/component.test.ts,
 * and hold the result to what the TypeScript class builds from the same arguments.
 */

const TYPE = `${PACKAGE_NAME}:index:WebSocketChat`;

/** Every argument set to something other than its default. */
const EVERY_ARGUMENT: WebSocketChatArgs = {
  stageName: "prod",
  routeSelectionExpression: "$request.body.message",
  messageRoute: "pushmessage",
  connectionTtlSeconds: 600,
  throttle: { burstLimit: 20, rateLimit: 10 },
  lambda: {
    runtime: "nodejs22.x",
    architecture: "x86_64",
    memorySize: {
      connect: 512,
      disconnect: 384,
      message: 3008,
      history: 448,
      who: 416,
      default: 320,
    },
    timeout: { connect: 5, disconnect: 6, message: 20, history: 8, who: 9, default: 7 },
  },
  logRetentionDays: 30,
  history: { retentionSeconds: 3600, limit: 20 },
  presence: { notices: false, nameLimit: 30 },
  kmsKeyArn: "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  messageRateLimit: { burst: 5, perSecond: 2 },
  access: {
    accessToken: "an-access-token-0123456789",
    jwt: {
      issuer: "https://issuer.example.com/",
      audience: "client-123",
      jwksUri: "https://issuer.example.com/keys",
      nameClaim: "nickname",
    },
  },
  tags: { project: "chat", owner: "team-a" },
};

/**
 * The arguments as the provider receives them: serialized by an SDK, deserialized by the host.
 * An argument that takes Inputs reaches the component as an Output, in its place, whenever the
 * program passes another resource's output or a secret, so each one comes as an Output here, as
 * the hardest case.
 */
async function overTheWire(args: WebSocketChatArgs): Promise<pulumi.Inputs> {
  const schema = await packageSchema();
  const serialized = await pulumi.runtime.serializeProperties("args", { ...args });
  const inputs = pulumi.runtime.deserializeProperties(Struct.fromJavaScript(serialized));
  const asOutputs = (values: pulumi.Inputs, properties: Record<string, SchemaProperty>) => {
    for (const [key, value] of Object.entries(values)) {
      const property = properties[key];
      const nested = property.$ref?.startsWith("#/types/")
        ? schema.types[property.$ref.slice("#/types/".length)]?.properties
        : undefined;
      if (!property.plain) values[key] = pulumi.output(value);
      else if (nested) asOutputs(value as pulumi.Inputs, nested);
    }
  };
  asOutputs(inputs, schema.resources[TYPE].inputProperties);
  return inputs;
}

/**
 * A value with every promise inside it awaited (assets and archives hold their contents in
 * promises) and every object made plain, naming its class, so two registrations compare by content.
 */
async function settled(value: unknown): Promise<unknown> {
  const v = await value;
  if (Array.isArray(v)) return Promise.all(v.map(settled));
  if (v === null || typeof v !== "object") return v;
  const entries = await Promise.all(
    Object.entries(v).map(async ([key, inner]) => [key, await settled(inner)] as const),
  );
  return { class: v.constructor?.name ?? "Object", ...Object.fromEntries(entries) };
}

/** What each resource registration says, in an order that does not depend on timing. */
async function registrations(record: ProgramRecord) {
  const resources = await Promise.all(
    record.resources.map(async (r: RecordedResource) => ({
      ...r,
      inputs: await settled(r.inputs),
      dependsOn: [...r.dependsOn].sort(),
    })),
  );
  // Function, role and log group names end in random digits, drawn afresh by every run.
  const randomNames = new RegExp(
    `-(${[...HANDLER_NAMES, "authorize"].join("|")})-[0-9a-f]{8}\\b`,
    "g",
  );
  return (
    JSON.parse(JSON.stringify(resources).replace(randomNames, "-$1-random")) as typeof resources
  ).sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
}

async function direct(args: WebSocketChatArgs) {
  const record = await startProgram();
  const chat = new WebSocketChat("chat", args);
  await finishProgram();
  return { record, chat };
}

async function constructed(args: WebSocketChatArgs) {
  const record = await startProgram();
  try {
    const result = await packageProvider().construct("chat", TYPE, await overTheWire(args), {});
    return { record, result };
  } finally {
    await finishProgram();
  }
}

/** The dotted path of every argument that holds a value rather than further arguments. */
function leafInputs(
  properties: Record<string, SchemaProperty>,
  types: Record<string, { properties?: Record<string, SchemaProperty> }>,
  path: string[] = [],
): string[] {
  return Object.entries(properties).flatMap(([name, property]) => {
    const nested = property.$ref?.startsWith("#/types/") && types[property.$ref.slice(8)];
    return nested && nested.properties
      ? leafInputs(nested.properties, types, [...path, name])
      : [[...path, name].join(".")];
  });
}

describe("WebSocketChat through the package's provider (other languages)", function () {
  // The provider infers the schema (shared with test/component-schema.test.ts) before it
  // constructs anything.
  this.timeout(120_000);
  before(() => packageSchema());

  it("is tested with every argument the schema offers set", async () => {
    const schema = await packageSchema();
    const set = (path: string) =>
      path.split(".").reduce<any>((value, key) => value?.[key], EVERY_ARGUMENT) !== undefined;
    const { inputProperties } = schema.resources[TYPE];
    const unset = leafInputs(inputProperties, schema.types).filter((path) => !set(path));
    assert.deepEqual(unset, [], "set these in EVERY_ARGUMENT");
  });

  for (const [title, args] of [
    ["no arguments", {}],
    ["every argument", EVERY_ARGUMENT],
  ] as const) {
    it(`creates the same resources as the TypeScript class, with ${title}`, async () => {
      const expected = await registrations((await direct(args)).record);
      const actual = await registrations((await constructed(args)).record);
      assert.ok(expected.length > 30, `the class created ${expected.length} resources`);
      assert.deepEqual(actual, expected);
      assert.equal(actual.filter((r) => r.type === TYPES.component).length, 1);
    });
  }

  it("returns every output the schema declares, with the class's values", async () => {
    const schema = await packageSchema();
    const { chat } = await direct(EVERY_ARGUMENT);
    const { result } = await constructed(EVERY_ARGUMENT);
    assert.deepEqual(
      Object.keys(result.state).sort(),
      Object.keys(schema.resources[TYPE].properties).sort(),
    );
    for (const key of ["url", "managementEndpoint", "connectionsTableName", "tableName"] as const) {
      assert.equal(await valueOf(result.state[key]), await valueOf(chat[key]), key);
    }
    const urnOf = (resource: pulumi.Resource) => valueOf(resource.urn);
    assert.equal(await urnOf(result.state.api), await urnOf(chat.api));
    for (const handler of HANDLER_NAMES) {
      assert.equal(
        await urnOf(result.state.handlers[handler].function),
        await urnOf(chat.handlers[handler].function),
        handler,
      );
    }
  });

  it("refuses another resource's output or a secret where an argument needs a known value, naming it", async () => {
    const constructFrom = async (inputs: pulumi.Inputs) => {
      await startProgram();
      try {
        return await packageProvider().construct("chat", TYPE, inputs, {});
      } finally {
        await finishProgram();
      }
    };
    // As Pulumi's host hands the component an argument that carries a dependency or a secret.
    await assert.rejects(
      constructFrom({ messageRoute: pulumi.output("pushmessage") }),
      /WebSocketChat argument messageRoute must be a value known before deployment/,
    );
    await assert.rejects(
      constructFrom({ lambda: { runtime: pulumi.secret("nodejs22.x") } }),
      /WebSocketChat argument lambda\.runtime must be a value known before deployment/,
    );
  });

  it("takes an OIDC issuer and client id from other resources' outputs", async () => {
    // As from a Cognito user pool and its client: outputs, in place of the strings.
    const jwt = {
      issuer: pulumi.output("https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_Ab"),
      audience: pulumi.output("client-123"),
    };
    const { record } = await constructed({ access: { jwt } });
    const { variables } = record.named("chat-authorize").inputs.environment;
    assert.equal(
      variables.AUTH_ISSUER,
      "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_Ab",
    );
    assert.equal(variables.AUTH_AUDIENCE, "client-123");
  });

  it("refuses a value the class refuses, naming the argument", async () => {
    await assert.rejects(
      constructed({ lambda: { architecture: "arm32" as "arm64" } }),
      /lambda\.architecture must be one of arm64, x86_64, got arm32/,
    );
  });
});
