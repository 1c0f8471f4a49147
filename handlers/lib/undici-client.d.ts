// undici's HTTP/1.1 client alone, without its index (fetch, WebSocket, cache, mocks...): the
// bundle carries about half of undici's code and loads in a third of the time
// (bench/bundle-load.ts). The module is undici's own `Client` class; its types are the package's.
declare module "undici/lib/dispatcher/client.js" {
  import { Client } from "undici";
  export = Client;
}
