/**
 * API Gateway's route selection for WebSocket messages: the selection expression
 * (`$request.body.<path>`) is evaluated on the JSON body. A body that is not JSON, or a path
 * that yields nothing or an empty string, selects no route (the caller falls back to
 * `$default`). Non-scalar values are stringified.
 */

const EXPRESSION = /^(?:\$request\.body\.(.+)|\$\{request\.body\.(.+)\})$/;

/** Compiles `expression`; throws for anything but a `$request.body.<path>` expression. */
export function routeSelector(expression: string): (body: string) => string | undefined {
  const match = EXPRESSION.exec(expression.trim());
  if (!match) {
    throw new Error(`Unsupported route selection expression "${expression}": expected $request.body.<path>`);
  }
  const path = (match[1] ?? match[2]).split(".");
  if (path.some((key) => key === "")) {
    throw new Error(`Route selection expression "${expression}" has an empty path segment`);
  }

  return (body) => {
    let node: unknown;
    try {
      node = JSON.parse(body);
    } catch {
      return undefined;
    }
    for (const key of path) {
      if (typeof node !== "object" || node === null || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    if (node === null || node === undefined) return undefined;
    const value = typeof node === "object" ? JSON.stringify(node) : String(node);
    return value === "" ? undefined : value;
  };
}
