import { it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { runContractSuite } from 'snapshelf/testing'

// The contract suite on HttpStorage → createSnapshotHandler → MemoryStorage in Node: the handler
// and client use only fetch-standard Request/Response, so any runtime with them can host either.
// (The same chain over R2 runs inside workerd: test/workers/http.test.ts.)
runContractSuite(it, {
  name: 'HttpStorage → handler → memory (node)',
  create: async (options) => {
    const server = new MemoryStorage()
    const handle = createSnapshotHandler({ storage: server, basePath: '/v1/snapshots', authorize: (r) => r.headers.get('x-key') === 'k' })
    return {
      store: new HttpStorage({
        baseUrl: 'http://local.test/v1/snapshots',
        fetch: (u, init) => handle(new Request(u, init)),
        headers: { 'x-key': 'k' },
        ...options,
      }),
      // Corrupt bytes are planted where they live, on the server: the handler refuses to store
      // some of them (an empty body) through HTTP.
      backend: server.backend,
    }
  },
})
