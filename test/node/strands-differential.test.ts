import { describe, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { S3Storage } from 'snapshelf/s3'
import { StrandsStorage, strandsLayout } from 'snapshelf/strands'
import { TieredStorage } from 'snapshelf/tiered'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'
import { runDifferential, seedFrom } from '../helpers/strands-differential.js'

// StrandsStorage against Strands' own InMemoryStorage: the same seeded random calls, identical
// results required (see test/helpers/strands-differential.ts). The seed is printed on failure;
// replay one with STRANDS_SEED=<seed>.
const seed = seedFrom(process.env.STRANDS_SEED)

describe('StrandsStorage behaves as Strands InMemoryStorage (differential)', () => {
  for (const compression of ['gzip', 'none'] as const) {
    it(`over MemoryStorage, compression ${compression}: 8 seeds x 400 calls`, async () => {
      for (let i = 0; i < 8; i++) {
        const ours = new StrandsStorage({ storage: new MemoryStorage({ compression }) })
        await runDifferential({ seed: seed + i, steps: 400, ours, label: `memory/${compression}` })
      }
    })
  }

  it('over MemoryStorage with a prefix', async () => {
    const ours = new StrandsStorage({ storage: new MemoryStorage({ prefix: 'tenants/acme' }) })
    await runDifferential({ seed, steps: 400, ours, label: 'memory/prefix' })
  })

  it('over HttpStorage -> createSnapshotHandler (strandsLayout) -> MemoryStorage, inside one Strands session folder', async () => {
    // The handler serves Strands' session folders only (`session/<id>/…`): the view puts every
    // key there; URL and XML specials travel percent-encoded.
    const handle = createSnapshotHandler({
      storage: new MemoryStorage(),
      layouts: [strandsLayout],
      authorize: (_r, a) => a.sessionId.startsWith('s1-'),
    })
    const http = new HttpStorage({ baseUrl: 'http://local.test', fetch: (u, init) => handle(new Request(u, init)) })
    // Both sides start in that folder, so a key that is the folder itself ('' joined to it) is compared too.
    for (let i = 0; i < 4; i++)
      await runDifferential({
        seed: seed + i,
        steps: 300,
        ours: new StrandsStorage({ storage: http }),
        namespace: `session/s1-${i}`,
        label: 'http',
      })
  })

  it('over TieredStorage (Memory -> Memory, unsynced writes in the outbox)', async () => {
    const ours = new StrandsStorage({
      storage: new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage(), prefix: 'p' }),
    })
    await runDifferential({ seed, steps: 300, ours, label: 'tiered' })
  })
})

describeS3('StrandsStorage behaves as Strands InMemoryStorage (differential, real S3)', () => {
  it('over S3Storage on the real server', async () => {
    const prefix = uniquePrefix('strands-diff')
    try {
      const ours = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix })) })
      await runDifferential({ seed, steps: 150, ours, label: 's3' })
    } finally {
      await wipePrefix(prefix)
    }
  })
})
