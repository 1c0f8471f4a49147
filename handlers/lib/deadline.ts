import type { Context } from "aws-lambda";

/**
 * An invocation's deadline: the moment by which every call a handler makes (posts, DynamoDB
 * requests, their retries) must be over, so that the handler still logs and answers before
 * Lambda stops it.
 */

// What a handler keeps back from its remaining time to log and answer.
const ANSWER_MARGIN_MS = 1_000;

/** Epoch ms by which `context`'s invocation must be done with its calls; none without a context. */
export function invocationDeadline(
  context?: Pick<Context, "getRemainingTimeInMillis">,
): number | undefined {
  return context ? Date.now() + context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS : undefined;
}

/**
 * Options for an AWS SDK v3 `send()` that stops the call, retries and backoff included, at
 * `deadline` (with an `AbortError`).
 */
export function sdkCallOptions(deadline?: number): { abortSignal?: AbortSignal } {
  if (deadline === undefined) return {};
  return { abortSignal: AbortSignal.timeout(Math.max(0, deadline - Date.now())) };
}
