// Comlink ships this adapter's types as node-adapter.d.ts, which NodeNext resolution does not
// pair with the .mjs file; this names them for the compiler.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { MessagePort, Worker } from 'node:worker_threads';
  export default function nodeEndpoint(nep: MessagePort | Worker): Endpoint;
}
