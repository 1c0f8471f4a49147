import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { ConfigSource } from "../components/config";

/** The project root: where Pulumi.yaml and the Pulumi.<stack>.yaml files live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** A stack's configuration as `pulumi up` would see it, and the AWS region it deploys to. */
export interface StackConfig {
  config: ConfigSource;
  region?: string;
}

/**
 * Reads a stack's configuration as `pulumi up` would see it: `Pulumi.<stack>.yaml` first, then
 * the defaults Pulumi.yaml declares for the project's keys. Missing files and keys read as unset.
 * A file that is not valid YAML is an error worth stopping for. The values are checked where
 * the component checks them (`chatArgsFromConfig`, `resolveSettings`).
 */
export function readStackConfig(stack: string, projectDir: string = PROJECT_DIR): StackConfig {
  const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
  const name = typeof project.name === "string" ? project.name : "websocket-chat";
  const stackConfig = asRecord(readYaml(path.join(projectDir, `Pulumi.${stack}.yaml`)).config);
  const projectConfig = asRecord(project.config);

  const get = (key: string): string | undefined => {
    const fromStack = stackConfig[`${name}:${key}`];
    // Pulumi.yaml declares a project key either as `key: value` or as `key: { default: value }`.
    const declared = projectConfig[key];
    const fromProject =
      typeof declared === "object" && declared !== null ? asRecord(declared).default : declared;
    const value = fromStack ?? fromProject;
    if (value === undefined || value === null) return undefined;
    if (typeof value === "object" && "secure" in value) {
      // Encrypted by the stack's secrets provider, which only the Pulumi CLI can open.
      throw new SecretConfigError(key, stack);
    }
    // Pulumi hands a program every value as text: YAML numbers and booleans as they read.
    return typeof value === "string" ? value : JSON.stringify(value);
  };
  const region = stackConfig["aws:region"];
  return {
    config: { get },
    region: typeof region === "string" && region !== "" ? region : undefined,
  };
}

function readYaml(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  try {
    return asRecord(parse(fs.readFileSync(file, "utf8")));
  } catch (err) {
    throw new Error(
      `${file} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** A stack value that is encrypted (`pulumi config set --secret`), which local mode cannot read. */
export class SecretConfigError extends Error {
  constructor(
    readonly key: string,
    stack: string,
  ) {
    super(
      `${key} is a secret in Pulumi.${stack}.yaml, which only the Pulumi CLI can decrypt. ` +
        `Pass it in the environment instead, e.g. CHAT_ACCESS_TOKEN="$(pulumi config get ${key} --stack ${stack})" npm start`,
    );
    this.name = "SecretConfigError";
  }
}
