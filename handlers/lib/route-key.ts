/**
 * API Gateway's route selection, read the way the service reads a message: the selection
 * expression (`$request.body.<path>`) is evaluated on the JSON body. A body that is not JSON, or
 * a path that yields nothing or an empty string, selects no route (the message goes to
 * `$default`). Non-scalar values are stringified; one nested too deeply to stringify selects no
 * route either. The local gateway routes with this, and `$default` says with it what was wrong.
 */

/** What a message's body gives for the route key, and, when nothing, why. */
export type RouteKeyReading =
  | { found: true; routeKey: string }
  | {
      found: false;
      problem: "not-json";
      /** Where JSON.parse gave up (0-based), when it says. */
      position?: number;
      /** It gave up at a key without double quotes: `{data: "x"}`. */
      unquotedKey: boolean;
    }
  | { found: false; problem: "not-an-object"; was: string }
  | { found: false; problem: "no-field" }
  | { found: false; problem: "empty-field" }
  | { found: false; problem: "unreadable-value" };

/** Reads the route key at `path` (e.g. `["action"]`) from a message's `body`. */
export function readRouteKey(body: string, path: readonly string[]): RouteKeyReading {
  let node: unknown;
  try {
    node = JSON.parse(body);
  } catch (err) {
    const message = err instanceof Error ? err.message : "";
    const at = /at position (\d+)/.exec(message);
    return {
      found: false,
      problem: "not-json",
      position: at ? Number(at[1]) : undefined,
      unquotedKey: message.includes("double-quoted property name"),
    };
  }
  if (!isObject(node)) return { found: false, problem: "not-an-object", was: kindOf(node) };
  for (const key of path) {
    // An own property only: a body's keys are the client's, never Object.prototype's members.
    if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, key)) {
      return { found: false, problem: "no-field" };
    }
    node = node[key];
  }
  if (node === null || node === undefined) return { found: false, problem: "empty-field" };
  // Objects, arrays, numbers and booleans as their JSON text; strings as they are.
  const value = typeof node === "string" ? node : jsonText(node);
  if (value === undefined) return { found: false, problem: "unreadable-value" };
  return value === "" ? { found: false, problem: "empty-field" } : { found: true, routeKey: value };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return `a ${typeof value}`;
}

/**
 * `value` as JSON text, or undefined when it cannot be written back: JSON.parse accepts nesting
 * that JSON.stringify overflows the stack on (a 128 KB message holds 65,000 levels).
 */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
