// Contract-suite harnesses for the HTTP and tiered stores, shared by the Deno and Bun runners.
// Runtime-neutral: it imports only the BUILT package by name, and each runner passes in its own
// way to listen on a socket (`Deno.serve`, `Bun.serve`), so the same chains run in both runtimes.
import { MemoryStorage } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { TieredStorage } from 'snapshelf/tiered'
import type { ContractHarness } from 'snapshelf/testing'

/** How this module resolves a name (its imports above must be the built package too). */
export const resolveFromHarnesses = (name: string): string => import.meta.resolve(name)

/** Starts a real HTTP server on 127.0.0.1 (any free port) answering with `handler`; resolves with its origin. */
export type Serve = (handler: (request: Request) => Promise<Response>) => Promise<{ origin: string }>

/** The codec options the contract suite passes to `create`. */
type CodecOptions = Parameters<ContractHarness['create']>[0]

const TOKEN = 'Bearer runtime-contract'
const BASE_PATH = '/v1/snapshots'

/**
 * The server side: the real handler over one memory store (tests use unique session ids), and
 * that store, where the contract suite plants corrupt bytes (the handler refuses to store some
 * of them, an empty body, through HTTP).
 */
function server(): { handle: (request: Request) => Promise<Response>; storage: MemoryStorage } {
  const storage = new MemoryStorage()
  return {
    handle: createSnapshotHandler({ storage, basePath: BASE_PATH, authorize: (r) => r.headers.get('authorization') === TOKEN }),
    storage,
  }
}

/**
 * Four harnesses for a runtime (`tag` names it in every test title):
 * HttpStorage → handler in-process (the `fetch` option), HttpStorage → a real server of the
 * runtime, TieredStorage(Memory → Memory) and TieredStorage(Memory → HttpStorage → real server).
 * The server starts once, on first use, and lives until the runtime exits.
 */
export function runtimeHarnesses(tag: string, serverName: string, serve: Serve): { http: ContractHarness[]; tiered: ContractHarness[] } {
  let origin: Promise<string> | undefined
  const socketServer = server()
  const listening = () => (origin ??= serve(socketServer.handle).then((s) => s.origin))
  const overSocket = async (options?: CodecOptions) =>
    new HttpStorage({ baseUrl: `${await listening()}${BASE_PATH}`, headers: { authorization: TOKEN }, ...options })
  const inProcess = server()

  // The codec options go to the tiered store: it encodes, and pushes the stored bytes unchanged.
  const tiered = (name: string, remote: () => Promise<MemoryStorage | HttpStorage>): ContractHarness => ({
    name,
    create: async (options) => {
      const store = new TieredStorage({ local: new MemoryStorage(), remote: await remote(), ...options })
      return { store, cleanup: async () => store.close() }
    },
  })

  return {
    http: [
      {
        name: `HttpStorage → handler → memory (${tag}, in-process)`,
        create: async (options) => ({
          store: new HttpStorage({
            baseUrl: `http://local.test${BASE_PATH}`,
            fetch: (u, init) => inProcess.handle(new Request(u, init)),
            headers: { authorization: TOKEN },
            ...options,
          }),
          backend: inProcess.storage.backend,
        }),
      },
      {
        name: `HttpStorage → ${serverName} → handler → memory (${tag})`,
        create: async (options) => ({ store: await overSocket(options), backend: socketServer.storage.backend }),
      },
    ],
    tiered: [
      tiered(`TieredStorage(Memory → Memory) (${tag})`, async () => new MemoryStorage()),
      tiered(`TieredStorage(Memory → Http → ${serverName} → handler → memory) (${tag})`, () => overSocket()),
    ],
  }
}
