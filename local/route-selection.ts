/**
 * API Gateway's route selection for WebSocket messages (see handlers/lib/route-key.ts): a body
 * that selects no route goes to `$default`, which the caller falls back to.
 */

import { readRouteKey } from "../handlers/lib/route-key";
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
    const reading = readRouteKey(body, path);
    return reading.found ? reading.routeKey : undefined;
  };
}
