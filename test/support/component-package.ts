import * as fs from "fs";
import * as path from "path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";

/**
 * The component as other Pulumi languages get it: `pulumi package add` starts this repository
 * as a plugin (PulumiPlugin.yaml), and @pulumi/pulumi's cmd/run-plugin requires the package.json
 * `main`, collects the ComponentResource classes it exports, and serves them with a
 * ComponentProvider named after package.json's `name`. The tests build the same provider here.
 */

export const PACKAGE_DIR = path.resolve(__dirname, "../..");
export const packageJson = JSON.parse(
  fs.readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8"),
) as { name: string; version: string; main: string };

/** The provider name run-plugin derives from package.json: no npm scope, only [-A-Za-z0-9_]. */
export const PACKAGE_NAME = packageJson.name.replace(/^@.*?\//, "").replace(/[^-a-zA-Z0-9_]/g, "-");

/** A property of a resource or of an object type in the package schema. */
export interface SchemaProperty {
  type?: string;
  $ref?: string;
  items?: SchemaProperty;
  additionalProperties?: SchemaProperty;
  description?: string;
  optional?: boolean;
  plain?: boolean;
}

export interface SchemaType {
  type: string;
  properties?: Record<string, SchemaProperty>;
  required?: string[];
  enum?: { name: string; value: string | number; description?: string }[];
}

export interface PackageSchema {
  name: string;
  version: string;
  resources: Record<
    string,
    {
      isComponent: boolean;
      description?: string;
      inputProperties: Record<string, SchemaProperty>;
      requiredInputs: string[];
      properties: Record<string, SchemaProperty>;
      required: string[];
    }
  >;
  types: Record<string, SchemaType>;
  dependencies: { name: string; version: string }[];
}

let provider: ComponentProvider | undefined;

/** The provider `pulumi package add` would start for this repository. */
export function packageProvider(): ComponentProvider {
  provider ??= new ComponentProvider({
    name: PACKAGE_NAME,
    dirname: PACKAGE_DIR,
    components: getPulumiComponents(require(PACKAGE_DIR)),
  });
  return provider;
}

let schema: Promise<PackageSchema> | undefined;

/**
 * The schema the provider infers from the TypeScript sources, from which `pulumi package add`
 * generates each language's SDK. Inferring it type-checks the whole program (about 20 s), so it
 * is built once per test run and shared.
 */
export function packageSchema(): Promise<PackageSchema> {
  schema ??= packageProvider()
    .getSchema()
    .then((text) => JSON.parse(text) as PackageSchema);
  return schema;
}
