import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { connectionStore, messageShape, replyTo } from "./container";
import type { ConnectionRecord } from "./connection-store";
import { invocationDeadline } from "./deadline";
import { describeError, logError } from "./log";
import { errorReply, NOT_CONNECTED } from "./message";
import { respond } from "./responses";

/**
 * The seam every message route goes through: the deadline, the sender's record, the 410 for a
 * sender that is gone, and the failure's log line and 500. A route's own module keeps only what
 * it does with a message from a sender the chat knows.
 */

export type LambdaContext = Pick<Context, "getRemainingTimeInMillis">;
export type WebSocketHandler = (
  event: APIGatewayProxyWebsocketEventV2,
  context?: LambdaContext,
) => Promise<APIGatewayProxyResultV2>;

/** One message, as a route's own code sees it. */
export interface RouteRequest<Sender = ConnectionRecord> {
  event: APIGatewayProxyWebsocketEventV2;
  connectionId: string;
  /** Epoch ms by which every call must be over (see `invocationDeadline`). */
  deadline?: number;
  /** Epoch ms when the handler began, for the durations it logs. */
  startedAt: number;
  sender: Sender;
  /** Sends `text` to the sender only; a failure is logged, never thrown. */
  reply: (text: string) => Promise<void>;
  /**
   * Tells the sender, in its format, why its message was not taken (`error`, `reason` and the
   * message it could send instead), and answers `statusCode` with `reason`.
   */
  refuse: (statusCode: number, error: string, reason: string) => Promise<APIGatewayProxyResultV2>;
}

/** What a route makes of a failure: what to log, and what its sender hears. */
export interface RouteFailure {
  /** What stopped the route, logged as `errorName` and `errorMessage`. */
  cause: unknown;
  /** Logged with it, e.g. how far a broadcast got. */
  fields?: Record<string, unknown>;
  /** Told to the sender as an error reply, and the 500's body, when the sender should know. */
  tell?: { error: string; reason: string };
}

export interface RouteSpec<Sender> {
  /** Logged when the route fails: `<route>_failed`. */
  failureEvent: string;
  /** The 500's body when the sender is told nothing. */
  failureBody: string;
  /** What the route does. A throw becomes the failure's log line and a 500. */
  serve(request: RouteRequest<Sender>): Promise<APIGatewayProxyResultV2>;
  /**
   * Reads a failure, the sender's lookup's too (then without a sender); without it, the error
   * itself is logged and nobody is told.
   */
  failure?(err: unknown, request: RouteRequest<Sender | undefined>): RouteFailure;
}

/**
 * A route for senders the chat knows: a sender whose record is gone (expired, or dropped by a
 * broadcast that found it closed) is told to reconnect and gets a 410, before the route runs.
 */
export function senderRoute(spec: RouteSpec<ConnectionRecord>): WebSocketHandler {
  return async (event, context) => {
    const request = openRequest(event, context);
    // Outside the catch: a function deployed without its table fails the invocation (Lambda's
    // Errors metric shows it) instead of answering 500 as if the table had failed once.
    const store = connectionStore();
    try {
      // First, because even an error reply is in the sender's format.
      const sender = await store.get(request.connectionId, {
        deadline: request.deadline,
      });
      if (!sender) return await request.refuse(410, "NotConnected", NOT_CONNECTED);
      return await run(spec, withSender(request, sender));
    } catch (err) {
      return fail(spec, err, request);
    }
  };
}

/**
 * A route that answers anyone, record or not: the record only picks the reply's format (plain
 * when it is gone or cannot be read, which is logged). `$default` is one: a sender who sends
 * what no route takes is told what to send whatever its record says.
 */
export function anyoneRoute(spec: RouteSpec<ConnectionRecord | undefined>): WebSocketHandler {
  return async (event, context) => {
    const request = openRequest(event, context);
    let sender: ConnectionRecord | undefined;
    try {
      sender = await connectionStore().get(request.connectionId, { deadline: request.deadline });
    } catch (err) {
      logError("sender_lookup_failed", {
        connectionId: request.connectionId,
        ...describeError(err),
      });
    }
    return run(spec, withSender(request, sender));
  };
}

async function run<Sender>(
  spec: RouteSpec<Sender>,
  request: RouteRequest<Sender>,
): Promise<APIGatewayProxyResultV2> {
  try {
    return await spec.serve(request);
  } catch (err) {
    return fail(spec, err, request);
  }
}

async function fail<Sender>(
  spec: RouteSpec<Sender>,
  err: unknown,
  request: RouteRequest<Sender | undefined>,
): Promise<APIGatewayProxyResultV2> {
  const failure = spec.failure?.(err, request) ?? { cause: err };
  logError(spec.failureEvent, {
    connectionId: request.connectionId,
    ...failure.fields,
    ...describeError(failure.cause),
  });
  // A one-way route's 500 reaches nobody: the sender hears it from us, or not at all.
  if (failure.tell) return request.refuse(500, failure.tell.error, failure.tell.reason);
  return respond(500, spec.failureBody);
}

// The request before its sender is known: replies are plain until the record says otherwise.
function openRequest(
  event: APIGatewayProxyWebsocketEventV2,
  context: LambdaContext | undefined,
): RouteRequest<undefined> {
  const { connectionId, requestTimeEpoch } = event.requestContext;
  // A client waits for this answer: the deadline counts from when API Gateway received it.
  const deadline = invocationDeadline(context, requestTimeEpoch);
  return withSender({ event, connectionId, deadline, startedAt: Date.now() }, undefined);
}

function withSender<Sender extends ConnectionRecord | undefined>(
  request: Pick<RouteRequest, "event" | "connectionId" | "deadline" | "startedAt">,
  sender: Sender,
): RouteRequest<Sender> {
  const { connectionId, deadline, startedAt } = request;
  const reply = (text: string) => replyTo(connectionId, text, deadline);
  return {
    event: request.event,
    connectionId,
    deadline,
    startedAt,
    sender,
    reply,
    refuse: async (statusCode, error, reason) => {
      await reply(errorReply(error, reason, messageShape(), sender?.structured ?? false));
      return respond(statusCode, reason);
    },
  };
}
