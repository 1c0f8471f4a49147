import type { Context } from "aws-lambda";
import { INTEGRATION_TIMEOUT_MS } from "./limits";

/**
 * An invocation's deadline: the moment by which every call a handler makes (posts, DynamoDB
 * requests, their retries) must be over, so that the handler still logs and answers before
 * Lambda stops it.
 */

// What a handler keeps back from its remaining time to log and answer.
const ANSWER_MARGIN_MS = 1_000;

/**
 * Epoch ms by which `context`'s invocation must be done with its calls; none without a context.
 * With `requestTimeEpoch` (when API Gateway received the request), never later than API
 * Gateway's integration timeout allows: it counts from the request, a cold start included,
 * where Lambda's timeout counts from after the start, so a function whose timeout is the whole
 * 29 s would otherwise go on after API Gateway has told the client its request timed out.
 */
export function invocationDeadline(
  context?: Pick<Context, "getRemainingTimeInMillis">,
  requestTimeEpoch?: number,
): number | undefined {
  if (!context) return undefined;
  const now = Date.now();
  const byLambda = now + context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS;
  // A request time further off than the timeout itself is not one clock with this container's
  // (a test's fixed clock, say): only Lambda's limit is known then.
  if (
    requestTimeEpoch === undefined ||
    !(Math.abs(now - requestTimeEpoch) < INTEGRATION_TIMEOUT_MS)
  ) {
    return byLambda;
  }
  return Math.min(byLambda, requestTimeEpoch + INTEGRATION_TIMEOUT_MS - ANSWER_MARGIN_MS);
}

/**
 * Options for an AWS SDK v3 `send()` that stops the call, retries and backoff included, at
 * `deadline` (with an `AbortError`).
 */
export function sdkCallOptions(deadline?: number): { abortSignal?: AbortSignal } {
  if (deadline === undefined) return {};
  return { abortSignal: AbortSignal.timeout(Math.max(0, deadline - Date.now())) };
}
