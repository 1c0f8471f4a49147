import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");

/**
 * The deployed program's modules (the component, the handlers, the stack) and what each
 * imports, type-only imports included, resolved as the compiler resolves them.
 */
function importGraph(): Map<string, string[]> {
  const config = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), (file) =>
    fs.readFileSync(file, "utf8"),
  );
  const { fileNames, options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const sources = fileNames.filter((file) =>
    /^(components\/|handlers\/|index\.ts$)/.test(path.relative(ROOT, file)),
  );
  const graph = new Map<string, string[]>();
  for (const file of sources) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    const imports = importedFiles.flatMap(({ fileName }) => {
      const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule;
      return resolved && !resolved.isExternalLibraryImport
        ? [path.relative(ROOT, resolved.resolvedFileName)]
        : [];
    });
    graph.set(path.relative(ROOT, file), imports);
  }
  return graph;
}

/** Every cycle in `graph`, each as the path that closes it (`a.ts -> b.ts -> a.ts`). */
function cyclesOf(graph: Map<string, string[]>): string[] {
  const cycles: string[] = [];
  const done = new Set<string>();
  const visit = (file: string, trail: string[]) => {
    const at = trail.indexOf(file);
    if (at >= 0) return void cycles.push([...trail.slice(at), file].join(" -> "));
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  return cycles;
}

describe("the program's imports", () => {
  it("have no cycles in the component and the handlers: settings, arguments and the component import one way", () => {
    const graph = importGraph();
    assert.ok(graph.get("components/web-socket-chat.ts")?.includes("components/settings.ts"));
    assert.deepEqual(cyclesOf(graph), []);
  });

  it("finds a cycle where there is one", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
    ]);
    assert.deepEqual(cyclesOf(graph), ["a.ts -> b.ts -> c.ts -> a.ts"]);
  });
});
