import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { ConfigSource } from "../components/stack-config";
import { loadProject, mergeConfig, stackValueOf } from "./pulumi-config-rules";

/** The project root: where Pulumi.yaml and the Pulumi.<stack>.yaml files live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** A stack's configuration as `pulumi up` would see it, and the AWS region it deploys to. */
export interface StackFiles {
  config: ConfigSource;
  region?: string;
}

/**
 * Reads a stack's configuration as `pulumi up` would see it: `Pulumi.<stack>.yaml` first, then
 * the defaults Pulumi.yaml declares for the project's keys, merged and checked by the Pulumi
 * CLI's own rules (./pulumi-config-rules.ts), so that local mode refuses what `pulumi up`
 * refuses, with the CLI's message. Missing files read as empty. A file that is not valid YAML is
 * an error worth stopping for. The values are then checked where the component checks them
 * (`chatArgsFromStackConfig`, `resolveSettings`).
 */
export function readStackFiles(stack: string, projectDir: string = PROJECT_DIR): StackFiles {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  const project = fs.existsSync(projectFile)
    ? loadProject(readYaml(projectFile))
    : { name: "websocket-chat", config: {} };
  const stackConfig = asRecord(readYaml(path.join(projectDir, `Pulumi.${stack}.yaml`)).config);
  const merged = mergeConfig(
    stack,
    project,
    Object.fromEntries(
      Object.entries(stackConfig).map(([key, value]) => [key, stackValueOf(value)]),
    ),
  );

  const get = (key: string): string | undefined => {
    const value = merged.get(`${project.name}:${key}`);
    if (value === undefined) return undefined;
    // Encrypted by the stack's secrets provider, which only the Pulumi CLI can open.
    if (value.secure) throw new SecretConfigError(key, stack);
    // Pulumi hands a program every value as text: YAML numbers and booleans as they read.
    return value.text;
  };
  const region = merged.get("aws:region");
  return {
    config: { get },
    region: region !== undefined && !region.secure && region.text !== "" ? region.text : undefined,
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
