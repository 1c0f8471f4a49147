/**
 * API Gateway's route selection for WebSocket messages: the selection expression
 * (`$request.body.<path>`) is evaluated on the JSON body. A body that is not JSON, or a path
 * that yields nothing or an empty string, selects no route (the caller falls back to
 * `$default`). Non-scalar values are stringified; one nested too deeply to stringify selects no
 * route either.
 */

import { routeKeyPath } from "../handlers/routes";

/** Compiles `expression`; throws for anything but a `$request.body.<path>` expression. */
export function routeSelector(expression: string): (body: string) => string | undefined {
  const path = routeKeyPath(expression);
  if (!path) {
    throw new Error(
      `Unsupported route selection expression "${expression}": expected $request.body.<path>`,
    );
  }

  return (body) => {
    let node: unknown;
    try {
      node = JSON.parse(body);
    } catch {
      return undefined;
    }
    for (const key of path) {
      if (
        typeof node !== "object" ||
        node === null ||
        !Object.prototype.hasOwnProperty.call(node, key)
      )
        return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    if (node === null || node === undefined) return undefined;
    // Objects, arrays, numbers and booleans as their JSON text; strings as they are.
    const value = typeof node === "string" ? node : jsonText(node);
    return value === "" ? undefined : value;
  };
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
