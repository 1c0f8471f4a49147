import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chatArgsFromStackConfig } from "../components/stack-config";
import { readStackFiles } from "../local/stack-files";

/** The component's arguments as local mode reads them for `stack`. */
function stackArgs(stack: string, dir: string) {
  return chatArgsFromStackConfig(readStackFiles(stack, dir).config);
}

describe("local mode reads the stack's settings from the Pulumi files", () => {
  let dir: string;
  const write = (file: string, lines: string[]) =>
    fs.writeFileSync(path.join(dir, file), lines.join("\n") + "\n");

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-config-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("leaves everything unset when there are no Pulumi files", () => {
    const args = stackArgs("dev", dir);
    assert.equal(args.stageName, undefined);
    assert.equal(args.routeSelectionExpression, undefined);
    assert.equal(args.messageRoute, undefined);
    assert.equal(args.connectionTtlSeconds, undefined);
    assert.equal(readStackFiles("dev", dir).region, undefined);
  });

  it("takes the stack file's values over Pulumi.yaml's defaults, under the project's namespace", () => {
    write("Pulumi.yaml", [
      "name: my-chat",
      "config:",
      "  stageName:",
      "    type: string",
      '    default: ""',
      "  routeSelectionExpression:",
      "    default: $request.body.action",
      "  messageRoute: sendmessage",
      "  connectionTtlSeconds:",
      "    default: 7500",
    ]);
    write("Pulumi.prod.yaml", [
      "config:",
      "  aws:region: eu-west-1",
      "  my-chat:stageName: live",
      "  my-chat:routeSelectionExpression: $request.body.message",
      "  websocket-chat:messageRoute: not-this-project",
      "  my-chat:connectionTtlSeconds: 600",
    ]);
    const args = stackArgs("prod", dir);
    assert.equal(args.stageName, "live");
    assert.equal(args.routeSelectionExpression, "$request.body.message");
    assert.equal(args.messageRoute, "sendmessage");
    assert.equal(args.connectionTtlSeconds, 600);
    assert.equal(readStackFiles("prod", dir).region, "eu-west-1");
  });

  it("treats an empty stageName as unset (the stack name applies, as in index.ts)", () => {
    write("Pulumi.yaml", ["name: websocket-chat", "config:", "  stageName:", '    default: ""']);
    write("Pulumi.dev.yaml", ["config:", '  websocket-chat:stageName: ""']);
    assert.equal(stackArgs("dev", dir).stageName, undefined);
  });

  it("reads the keys index.ts reads, numbers included, and refuses a number that is not one", () => {
    write("Pulumi.dev.yaml", [
      "config:",
      "  websocket-chat:lambdaArchitecture: x86_64",
      "  websocket-chat:lambdaMemorySize: 3008",
      "  websocket-chat:throttleBurstLimit: 7",
      "  websocket-chat:logRetentionDays: thirty",
    ]);
    assert.throws(() => stackArgs("dev", dir), /logRetentionDays must be a number, got "thirty"/);
    write("Pulumi.dev.yaml", [
      "config:",
      "  websocket-chat:lambdaArchitecture: x86_64",
      "  websocket-chat:lambdaMemorySize: 3008",
      "  websocket-chat:throttleBurstLimit: 7",
    ]);
    const args = stackArgs("dev", dir);
    assert.equal(args.lambda?.architecture, "x86_64");
    assert.deepEqual(args.lambda?.memorySize, { message: 3008 });
    assert.equal(args.throttle?.burstLimit, 7);
  });

  it("stops with the file's name when a stack file is not valid YAML", () => {
    write("Pulumi.dev.yaml", ["config:", "  a: [unclosed"]);
    assert.throws(() => readStackFiles("dev", dir), /Pulumi\.dev\.yaml is not valid YAML/);
  });
});
