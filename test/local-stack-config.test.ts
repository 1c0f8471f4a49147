import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfig } from "../local/stack-config";

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
    assert.deepEqual(readStackConfig("dev", dir), {
      stageName: undefined,
      routeSelectionExpression: undefined,
      messageRoute: undefined,
      connectionTtlSeconds: undefined,
      region: undefined,
    });
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
    assert.deepEqual(readStackConfig("prod", dir), {
      stageName: "live",
      routeSelectionExpression: "$request.body.message",
      messageRoute: "sendmessage",
      connectionTtlSeconds: 600,
      region: "eu-west-1",
    });
  });

  it("treats an empty stageName as unset (the stack name applies, as in index.ts)", () => {
    write("Pulumi.yaml", ["name: websocket-chat", "config:", "  stageName:", '    default: ""']);
    write("Pulumi.dev.yaml", ["config:", '  websocket-chat:stageName: ""']);
    assert.equal(readStackConfig("dev", dir).stageName, undefined);
  });

  it("stops with the file's name when a stack file is not valid YAML", () => {
    write("Pulumi.dev.yaml", ["config:", "  a: [unclosed"]);
    assert.throws(() => readStackConfig("dev", dir), /Pulumi\.dev\.yaml is not valid YAML/);
  });
});
