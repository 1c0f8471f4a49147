import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import {
  loadProject,
  mergeConfig,
  Project,
  StackValue,
  stackValueOf,
} from "../../local/pulumi-config-rules";

/**
 * A Pulumi stack as the CLI would keep it, for tests: Pulumi.yaml loaded by the CLI's rules,
 * `pulumi config set` written into a stack file the way the CLI writes it, and `pulumi up`'s
 * config merge and checks (local/pulumi-config-rules.ts, ported from the CLI's source).
 */

export const ROOT = path.resolve(__dirname, "..", "..");

/** The project in `dir`, loaded as the CLI loads Pulumi.yaml. */
export function projectIn(dir: string = ROOT): Project {
  return loadProject(parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")));
}

/** Every `Pulumi.<stack>.yaml` of the repository's projects (the root and examples/). */
export function stackFiles(): string[] {
  const dirs = [
    ROOT,
    ...fs.readdirSync(path.join(ROOT, "examples")).map((d) => path.join(ROOT, "examples", d)),
  ];
  return dirs.flatMap((dir) =>
    fs
      .readdirSync(dir)
      .filter((file) => /^Pulumi\.[^.]+\.yaml$/.test(file))
      .map((file) => path.join(dir, file)),
  );
}

// The stand-in secrets provider: what `--secret` stores, and how `pulumi up` reads it back.
const CIPHER_PREFIX = "test-cipher:";
export const encrypt = (plain: string) =>
  CIPHER_PREFIX + Buffer.from(plain, "utf8").toString("base64");
/**
 * A real provider's ciphertext (a user's own `pulumi config set --secret` in Pulumi.dev.yaml)
 * cannot be opened here: it stays as it is, which is what a string key is checked as anyway.
 */
export const decrypt = (ciphertext: string) =>
  ciphertext.startsWith(CIPHER_PREFIX)
    ? Buffer.from(ciphertext.slice(CIPHER_PREFIX.length), "base64").toString("utf8")
    : ciphertext;

/** One `pulumi config set [--secret] <key> <value>`. */
export interface ConfigSet {
  key: string;
  value: string;
  secret: boolean;
}

/**
 * `pulumi config set`, as the CLI writes it into the stack file's text: the key namespaced by the
 * project unless it has a namespace, the value a string, or `{ secure: <ciphertext> }`.
 */
export function configSet(stackYaml: string, projectName: string, set: ConfigSet): string {
  const doc = (parse(stackYaml) ?? {}) as { config?: Record<string, unknown> };
  const key = set.key.includes(":") ? set.key : `${projectName}:${set.key}`;
  doc.config = { ...doc.config, [key]: set.secret ? { secure: encrypt(set.value) } : set.value };
  return stringify(doc);
}

/**
 * What `pulumi up` runs a stack with: the CLI's merge of Pulumi.yaml into the stack file's
 * config, checked by its rules (throws its error), decrypted as the program sees it.
 */
export function upConfig(
  stackName: string,
  stackYaml: string,
  project: Project = projectIn(),
): { config: Record<string, string>; secretKeys: string[] } {
  const raw = ((parse(stackYaml) ?? {}) as { config?: Record<string, unknown> }).config ?? {};
  const stackConfig: Record<string, StackValue> = Object.fromEntries(
    Object.entries(raw).map(([key, value]) => [key, stackValueOf(value)]),
  );
  const merged = mergeConfig(stackName, project, stackConfig, decrypt);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of merged) {
    config[key] = value.secure ? decrypt(value.text) : value.text;
    if (value.secure) secretKeys.push(key);
  }
  return { config, secretKeys };
}

/** Sample values for the placeholders the docs write in angle brackets. */
const PLACEHOLDERS: Record<string, string> = {
  "<token>": "q+Zk/8Wm3aX+1v/Ty0pL9e4r+Hs2Nc7u/Jd5oQbFgiE=",
  "<app client id>": "1example23456789client",
};

/**
 * Every `pulumi config set` the README and Pulumi.yaml tell users to run, as the shell would run
 * it (quotes, `$(openssl rand ...)`), with `pulumi` recording its arguments. The generic
 * `pulumi config set <key> <value>` is left out.
 */
export function documentedConfigSets(): ConfigSet[] {
  const text = ["README.md", "Pulumi.yaml"]
    .map((file) => fs.readFileSync(path.join(ROOT, file), "utf8"))
    .join("\n");
  const commands = [...text.matchAll(/pulumi config set [^`\n]*/g)]
    .map(([command]) => command.replace(/\s+#.*$/, "").trim())
    .filter((command) => !command.includes("<key>"))
    .map((command) =>
      Object.entries(PLACEHOLDERS).reduce((c, [name, value]) => c.replaceAll(name, value), command),
    );
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-"));
  try {
    const args = path.join(bin, "args");
    fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/bash\nprintf '%s\\0' "$@" >> '${args}'\n`, {
      mode: 0o755,
    });
    for (const command of commands) {
      execFileSync("bash", ["-euc", `${command}\nprintf '\\n\\0' >> '${args}'`], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      });
    }
    return fs
      .readFileSync(args, "utf8")
      .split("\n\0")
      .filter((run) => run !== "")
      .map((run) => {
        const argv = run.split("\0").filter((arg) => arg !== "");
        const secret = argv.includes("--secret");
        const [, , key, value] = argv.filter((arg) => !arg.startsWith("--"));
        return { key, value, secret };
      });
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}
