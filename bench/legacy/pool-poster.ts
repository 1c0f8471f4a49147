import { ENV, requireEnv } from "../../handlers/lib/environment";
import { ConnectionPoster, managementPoster } from "./management";

// Stands in for handlers/lib/pool-poster.ts in the bench-only bundle of today's message handler
// (bench/legacy-bundle.ts): its broadcasts post as they did before undici, with `node:https`
// on 128 keep-alive sockets and 128 posts in flight.
export const MAX_IN_FLIGHT = 128;

let poster: ConnectionPoster | undefined;
export function broadcastPoster(): ConnectionPoster {
  poster ??= managementPoster(requireEnv(ENV.managementEndpoint), MAX_IN_FLIGHT);
  return poster;
}
