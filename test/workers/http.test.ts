import { env } from 'cloudflare:workers'
import { it } from 'vitest'
import type { Backend } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { runContractSuite } from 'snapshelf/testing'

// The contract suite on HttpStorage → createSnapshotHandler → R2Storage, all inside workerd.
// HttpStorage's `fetch` hands each Request straight to the handler: the whole HTTP surface
// (URLs, headers, ETags, status codes, bodies) is exercised without a socket. Corrupt bytes are
// planted where they live, in R2 (the handler refuses to store some of them, an empty body).
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS
const TOKEN = 'Bearer contract-suite'

function serve(prefix?: string): { storage: R2Storage; send: (input: string, init: RequestInit) => Promise<Response> } {
  const storage = new R2Storage({ bucket, prefix })
  const handle = createSnapshotHandler({
    storage,
    basePath: '/api',
    // The suite's session ids all start with 't'; anything else is someone else's.
    authorize: (request, { sessionId }) => request.headers.get('authorization') === TOKEN && sessionId.startsWith('t'),
  })
  return { storage, send: (input, init) => handle(new Request(input, init)) }
}

/** `backend` seen with the client's key prefix: `from/…` there is `to/…` here. */
function rebased(backend: Backend, from: string, to: string): Backend {
  const down = (key: string): string => `${to}/${key.slice(from.length + 1)}`
  const up = (key: string): string => `${from}/${key.slice(to.length + 1)}`
  return {
    get: (key, o) => backend.get(down(key), o),
    head: (key, o) => backend.head(down(key), o),
    put: (key, body, o) => backend.put(down(key), body, o),
    delete: (keys, o) => backend.delete(keys.map(down), o),
    list: async (prefix, o = {}) => {
      const page = await backend.list(down(prefix), { ...o, startAfter: o.startAfter === undefined ? undefined : down(o.startAfter) })
      return { ...page, entries: page.entries.map((e) => ({ ...e, key: up(e.key) })) }
    },
  }
}

runContractSuite(it, {
  name: 'HttpStorage → handler → R2 (workerd)',
  create: async (options) => {
    const { storage, send } = serve()
    return {
      store: new HttpStorage({ baseUrl: 'https://snapshots.test/api', fetch: send, headers: { authorization: TOKEN }, ...options }),
      backend: storage.backend,
    }
  },
})
runContractSuite(it, {
  name: 'HttpStorage (client prefix) → handler (server prefix) → R2 (workerd)',
  create: async (options) => {
    const { storage, send } = serve('server/side')
    return {
      store: new HttpStorage({
        baseUrl: 'https://snapshots.test/api/',
        prefix: 'local/only',
        fetch: send,
        headers: () => ({ authorization: TOKEN }),
        ...options,
      }),
      backend: rebased(storage.backend, 'local/only', 'server/side'),
    }
  },
})
