import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** The project root: where Pulumi.yaml and the Pulumi.<stack>.yaml files live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** The settings of a stack that local mode honours, as far as `Pulumi.<stack>.yaml` sets them. */
export interface StackConfig {
  stageName?: string;
  routeSelectionExpression?: string;
  messageRoute?: string;
  connectionTtlSeconds?: number;
  region?: string;
}

/**
 * Reads `Pulumi.<stack>.yaml` in `projectDir`. A missing file or missing keys leave the fields
 * undefined (the caller falls back to the component's defaults); a file that is not valid YAML
 * is an error worth stopping for.
 */
export function readStackConfig(stack: string, projectDir: string = PROJECT_DIR): StackConfig {
  const config = readConfigSection(path.join(projectDir, `Pulumi.${stack}.yaml`));
  const project = projectName(projectDir);
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : undefined);
  const ttl = config[`${project}:connectionTtlSeconds`];
  return {
    stageName: text(`${project}:stageName`),
    routeSelectionExpression: text(`${project}:routeSelectionExpression`),
    messageRoute: text(`${project}:messageRoute`),
    connectionTtlSeconds: typeof ttl === "number" || typeof ttl === "string" ? Number(ttl) || undefined : undefined,
    region: text("aws:region"),
  };
}

/** The config namespace: the `name` in Pulumi.yaml. */
function projectName(projectDir: string): string {
  const file = path.join(projectDir, "Pulumi.yaml");
  const project = fs.existsSync(file) ? (parse(fs.readFileSync(file, "utf8")) as { name?: unknown } | null) : null;
  return typeof project?.name === "string" ? project.name : "websocket-chat";
}

function readConfigSection(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  let document: unknown;
  try {
    document = parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const config = (document as { config?: unknown } | null)?.config;
  return typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {};
}
