// undici's pool alone, without its index (fetch, WebSocket, cache, mocks...): the bundle carries
// about half of undici's code and loads in a third of the time (bench/bundle-load.ts). The
// module is undici's own `Pool` class; its types are the package's.
declare module "undici/lib/dispatcher/pool.js" {
  import { Pool } from "undici";
  export = Pool;
}
