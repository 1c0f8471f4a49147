/**
 * The Pulumi CLI's rules for project and stack configuration, ported from its Go source so that
 * local mode refuses exactly what `pulumi up` refuses, and the tests can apply them to this
 * project's files. Read from pulumi/pulumi at commit 1b5949891b3cefcb9974752b24a5ecef0acc86c8
 * (v3.259.0 and 14 commits):
 * - sdk/go/common/workspace/project.go: `ValidateConfigValue`, `Project.Validate`,
 *   `RewriteShorthandConfigValues`, and project.json (the schema `ValidateProject` applies);
 * - pkg/workspace/config.go: `mergeConfig`, `createConfigValue`, `validateStackConfigValues`,
 *   `validateStackConfigValue`;
 * - sdk/go/common/resource/config/object.go: how a stack file's YAML value becomes a config value
 *   (`unmarshalObject`, `MarshalString`).
 * The CLI's own messages are kept word for word.
 */

/** A config value as the CLI holds it: text, encrypted or not, JSON text when an object. */
export interface StackValue {
  text: string;
  secure: boolean;
  object: boolean;
}

/** A key's declaration in Pulumi.yaml's `config:` block, after the CLI's shorthand rewrite. */
export interface ProjectConfigType {
  type?: string;
  items?: ConfigItemsType;
  description?: string;
  default?: unknown;
  value?: unknown;
  secret?: boolean;
}
interface ConfigItemsType {
  type: string;
  items?: ConfigItemsType;
}

export interface Project {
  name: string;
  config: Record<string, ProjectConfigType>;
}

// project.json: `simpleConfigType` and the attributes of `configTypeDeclaration`.
const CONFIG_TYPES = ["string", "integer", "boolean", "array", "object"];
const CONFIG_ATTRIBUTES = ["type", "items", "description", "secret", "default", "value"];

/**
 * Pulumi.yaml's parsed YAML as the CLI loads it (`LoadProjectBytes`): checked against the
 * project schema's config rules, shorthand values rewritten, then `Project.Validate`. Throws the
 * CLI's error.
 */
export function loadProject(raw: unknown): Project {
  const project = asRecord(raw, "project");
  const name = project.name;
  if (typeof name !== "string" || name === "") {
    throw new Error("project is missing a non-empty string 'name' attribute");
  }
  const config: Record<string, ProjectConfigType> = {};
  const declared = project.config ?? {};
  if (typeof declared === "string") return { name, config }; // the old stackConfigDir spelling
  for (const [key, value] of Object.entries(asRecord(declared, "config"))) {
    config[key] = declaration(name, key, value);
  }
  validateProject({ name, config });
  return { name, config };
}

/** One key's declaration: project.json's `oneOf`, then `RewriteShorthandConfigValues`. */
function declaration(projectName: string, key: string, value: unknown): ProjectConfigType {
  // Shorthand: a primitive or an array is a default (project keys) or a value (other namespaces).
  if (isPrimitive(value) || Array.isArray(value)) {
    return isNamespacedByProject(projectName, key) ? { default: value } : { value };
  }
  const attributes = asRecord(value, `#/config/${key}`);
  for (const attribute of Object.keys(attributes)) {
    if (!CONFIG_ATTRIBUTES.includes(attribute)) {
      throw new Error(`#/config/${key}: additionalProperties '${attribute}' not allowed`);
    }
  }
  if (attributes.type !== undefined && !CONFIG_TYPES.includes(attributes.type as string)) {
    throw new Error(`#/config/${key}/type: value must be one of ${CONFIG_TYPES.join(", ")}`);
  }
  if (attributes.secret !== undefined && typeof attributes.secret !== "boolean") {
    throw new Error(`#/config/${key}/secret: expected boolean`);
  }
  // Go's YAML decoder gives null for `default:` with nothing after it: as if absent.
  const { default: defaultValue, value: fixedValue, ...rest } = attributes;
  return {
    ...(rest as ProjectConfigType),
    ...(defaultValue === null || defaultValue === undefined ? {} : { default: defaultValue }),
    ...(fixedValue === null || fixedValue === undefined ? {} : { value: fixedValue }),
  };
}

/** `Project.Validate`: defaults of their type, values only for other namespaces. */
export function validateProject({ name, config }: Project): void {
  for (const [key, type] of Object.entries(config)) {
    if (type.default !== undefined && type.value !== undefined) {
      throw new Error(`project config '${key}' cannot have both a 'default' and 'value' attribute`);
    }
    if (isNamespacedByProject(name, key)) {
      if (type.type === "array" && type.items === undefined) {
        throw new Error(
          `The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`,
        );
      }
      if (type.type !== undefined && type.default !== undefined) {
        if (!validateConfigValue(type.type, type.items, type.default)) {
          throw new Error(
            `The default value specified for configuration key '${key}' is not of the expected type '${fullTypeName(type.type, type.items)}'`,
          );
        }
      }
    } else {
      if (type.type !== undefined) {
        throw new Error(
          `Configuration key '${key}' is not namespaced by the project and should not define a type`,
        );
      }
      if (type.default !== undefined) {
        throw new Error(
          `Configuration key '${key}' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?`,
        );
      }
      if (type.value === undefined) {
        throw new Error(
          `Configuration key '${key}' is namespaced and must provide an attribute 'value'`,
        );
      }
    }
  }
}

/**
 * `ValidateConfigValue`: whether `value` is of the declared type. Stack values arrive as text,
 * so an integer is text `strconv.Atoi` takes; a default arrives as YAML decoded it.
 */
export function validateConfigValue(
  typeName: string,
  items: ConfigItemsType | undefined,
  value: unknown,
): boolean {
  switch (typeName) {
    case "string":
      return typeof value === "string";
    case "integer":
      // Go's YAML gives an int, or a float64 that is a whole number: both accepted.
      if (typeof value === "number") return Number.isInteger(value);
      return typeof value === "string" && isAtoi(value);
    case "boolean":
      return value === "true" || value === "false" || typeof value === "boolean";
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
  }
  if (!Array.isArray(value) || items === undefined) return false;
  return value.every((item) => validateConfigValue(items.type, items.items, item));
}

// strconv.Atoi: an optional sign and decimal digits, within Go's 64-bit int.
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
function isAtoi(text: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(text)) return false;
  const value = BigInt(text.replace(/^\+/, ""));
  return value >= INT64_MIN && value <= INT64_MAX;
}

/**
 * A stack file's YAML value as the CLI holds it (`unmarshalObject`, then `MarshalString`):
 * strings as they are, numbers and booleans as their JSON text, `{ secure: ... }` encrypted,
 * anything else an object in JSON.
 */
export function stackValueOf(yamlValue: unknown): StackValue {
  if (typeof yamlValue === "string") return { text: yamlValue, secure: false, object: false };
  if (typeof yamlValue === "number" || typeof yamlValue === "boolean") {
    return { text: JSON.stringify(yamlValue), secure: false, object: false };
  }
  if (isSecure(yamlValue)) return { text: yamlValue.secure, secure: true, object: false };
  return {
    text: JSON.stringify(yamlValue ?? null),
    secure: containsSecure(yamlValue),
    object: true,
  };
}

/**
 * `mergeConfig` with validation, as `pulumi up`, `preview`, `refresh` and `destroy` run it
 * (`ValidateStackConfigAndApplyProjectConfig`): every declared key the stack does not set gets
 * its default or value, as a plain value; a project key with neither is missing; then every
 * typed key is checked. Returns the merged config by full key (`project:key`). Throws the
 * CLI's error. `stackConfig` is keyed as the stack file is: `key` means `project:key`.
 */
export function mergeConfig(
  stackName: string,
  project: Project,
  stackConfig: Record<string, StackValue>,
  /** The stack's secrets provider; without one, ciphertext is checked as it is. */
  decrypt: (ciphertext: string) => string = (ciphertext) => ciphertext,
): Map<string, StackValue> {
  const merged = new Map<string, StackValue>();
  for (const [key, value] of Object.entries(stackConfig)) {
    merged.set(fullKey(project.name, key), value);
  }
  const missing: string[] = [];
  const keys = Object.keys(project.config).sort();
  for (const key of keys) {
    const type = project.config[key];
    const full = fullKey(project.name, key);
    if (merged.has(full)) continue;
    const hasDefault = type.default !== undefined;
    const hasValue = type.value !== undefined;
    if (!hasDefault && !hasValue) {
      if (full.split(":")[0] === project.name) missing.push(key);
      continue;
    }
    merged.set(full, createConfigValue(hasDefault ? type.default : type.value));
  }
  if (missing.length > 0) throw new Error(missingKeysMessage(missing, stackName));
  for (const key of keys) {
    const type = project.config[key];
    if (type.type === undefined) continue;
    const value = merged.get(fullKey(project.name, key));
    if (value === undefined) continue;
    validateStackConfigValue(stackName, key, type, value, decrypt);
  }
  return merged;
}

/** `validateStackConfigValue`: a secret key must be encrypted, and of its declared type. */
function validateStackConfigValue(
  stackName: string,
  key: string,
  type: ProjectConfigType,
  value: StackValue,
  decrypt: (ciphertext: string) => string,
): void {
  if (type.secret && !value.secure) {
    throw new Error(
      `Stack '${stackName}' with configuration key '${key}' must be encrypted as it's secret`,
    );
  }
  // Checked decrypted (an object with secrets inside is checked as its JSON).
  const text = value.secure && !value.object ? decrypt(value.text) : value.text;
  const content: unknown = value.object ? JSON.parse(text) : text;
  if (!validateConfigValue(type.type!, type.items, content)) {
    throw new Error(
      `Stack '${stackName}' with configuration key '${key}' must be of type '${fullTypeName(type.type!, type.items)}'`,
    );
  }
}

/** `createConfigValue`: a string, int or bool default as plain text, anything else as JSON. */
function createConfigValue(raw: unknown): StackValue {
  if (typeof raw === "string" || typeof raw === "boolean" || Number.isInteger(raw)) {
    return { text: String(raw), secure: false, object: false };
  }
  return { text: JSON.stringify(raw), secure: false, object: true };
}

function missingKeysMessage(keys: string[], stackName: string): string {
  const sorted = [...keys].sort();
  const list =
    sorted.length === 1
      ? `'${sorted[0]}'`
      : sorted
          .map((key, i) =>
            i === sorted.length - 1
              ? `and '${key}'`
              : i === sorted.length - 2
                ? `'${key}' `
                : `'${key}', `,
          )
          .join("");
  return `Stack '${stackName}' is missing configuration ${keys.length > 1 ? "values" : "value"} ${list}`;
}

function fullTypeName(typeName: string, items?: ConfigItemsType): string {
  return items ? `array<${fullTypeName(items.type, items.items)}>` : typeName;
}

function fullKey(projectName: string, key: string): string {
  return key.includes(":") ? key : `${projectName}:${key}`;
}

function isNamespacedByProject(projectName: string, key: string): boolean {
  return !key.includes(":") || key.startsWith(`${projectName}:`);
}

// Go's isPrimitiveValue: string, int, bool (a YAML float is not).
function isPrimitive(value: unknown): boolean {
  return typeof value === "string" || typeof value === "boolean" || Number.isInteger(value);
}

function isSecure(value: unknown): value is { secure: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { secure?: unknown }).secure === "string"
  );
}

function containsSecure(value: unknown): boolean {
  if (isSecure(value)) return true;
  return typeof value === "object" && value !== null && Object.values(value).some(containsSecure);
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where}: expected object`);
  }
  return value as Record<string, unknown>;
}
