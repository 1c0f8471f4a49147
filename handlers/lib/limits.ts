/**
 * API Gateway's WebSocket numbers that no quota request changes
 * (../shared/reference/apigw-websocket-facts.md, "Limits"). The handlers, the local gateway,
 * `npm start`'s help, the bench and the tests all read them from here.
 */

/** API Gateway stops waiting for any integration (a Lambda invocation) after 29 s. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

/** A connection with no message in either direction for 10 minutes is closed. */
export const IDLE_TIMEOUT_MS = 10 * 60 * 1000;

/** Every connection is closed after 2 hours, however busy. */
export const MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;

/** The longest URL a client may connect to, in characters. */
export const MAX_URL_LENGTH = 4096;

/** The largest WebSocket frame a client may send: 32 KB. */
export const MAX_FRAME_BYTES = 32 * 1024;

/**
 * The largest message: 128 KB, both a client's (possibly fragmented) message and the data of
 * one @connections POST.
 */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/**
 * How long a connection record outlives the connection's longest possible life: `$disconnect`
 * is best-effort, so records expire on their own, a little after API Gateway closes the socket.
 */
export const CONNECTION_TTL_MARGIN_SECONDS = 5 * 60;
