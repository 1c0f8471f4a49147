import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** The project root: where Pulumi.yaml and the Pulumi.<stack>.yaml files live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** The settings of a stack that local mode honours, as far as the Pulumi files set them. */
export interface StackConfig {
  stageName?: string;
  routeSelectionExpression?: string;
  messageRoute?: string;
  connectionTtlSeconds?: number;
  region?: string;
}

/**
 * Reads a stack's settings as `pulumi up` would see them: `Pulumi.<stack>.yaml` first, then the
 * defaults Pulumi.yaml declares for the project's keys. Missing files, missing keys and empty
 * values leave a field undefined (the caller falls back to the component's defaults, and an
 * empty stageName means the stack name, as in index.ts). A file that is not valid YAML is an
 * error worth stopping for.
 */
export function readStackConfig(stack: string, projectDir: string = PROJECT_DIR): StackConfig {
  const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
  const name = typeof project.name === "string" ? project.name : "websocket-chat";
  const stackConfig = asRecord(readYaml(path.join(projectDir, `Pulumi.${stack}.yaml`)).config);
  const projectConfig = asRecord(project.config);

  const value = (key: string): unknown => {
    const fromStack = stackConfig[`${name}:${key}`];
    if (fromStack !== undefined && fromStack !== "") return fromStack;
    // Pulumi.yaml declares a project key either as `key: value` or as `key: { default: value }`.
    const declared = projectConfig[key];
    const fromProject =
      typeof declared === "object" && declared !== null ? asRecord(declared).default : declared;
    return fromProject === "" ? undefined : fromProject;
  };
  const text = (key: string) => {
    const v = value(key);
    return typeof v === "string" ? v : undefined;
  };
  const ttl = Number(value("connectionTtlSeconds"));
  const region = stackConfig["aws:region"];
  return {
    stageName: text("stageName"),
    routeSelectionExpression: text("routeSelectionExpression"),
    messageRoute: text("messageRoute"),
    connectionTtlSeconds: Number.isInteger(ttl) && ttl > 0 ? ttl : undefined,
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
