import { env } from 'cloudflare:workers'
import { it } from 'vitest'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { runContractSuite } from 'snapshelf/testing'

// The contract suite on HttpStorage → createSnapshotHandler → R2Storage, all inside workerd.
// HttpStorage's `fetch` hands each Request straight to the handler: the whole HTTP surface
// (URLs, headers, ETags, status codes, bodies) is exercised without a socket.
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS
const TOKEN = 'Bearer contract-suite'

function serve(prefix?: string): (input: string, init: RequestInit) => Promise<Response> {
  const handle = createSnapshotHandler({
    storage: new R2Storage({ bucket, prefix }),
    basePath: '/api',
    // The suite's session ids all start with 't'; anything else is someone else's.
    authorize: (request, { sessionId }) => request.headers.get('authorization') === TOKEN && sessionId.startsWith('t'),
  })
  return (input, init) => handle(new Request(input, init))
}

runContractSuite(it, {
  name: 'HttpStorage → handler → R2 (workerd)',
  create: async (options) => ({ store: new HttpStorage({ baseUrl: 'https://snapshots.test/api', fetch: serve(), headers: { authorization: TOKEN }, ...options }) }),
})
runContractSuite(it, {
  name: 'HttpStorage (client prefix) → handler (server prefix) → R2 (workerd)',
  create: async (options) => ({
    store: new HttpStorage({
      baseUrl: 'https://snapshots.test/api/',
      prefix: 'local/only',
      fetch: serve('server/side'),
      headers: () => ({ authorization: TOKEN }),
      ...options,
    }),
  }),
})
