import { describe, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { GenkitSessionStore } from 'snapshelf/genkit'
import { S3Storage } from 'snapshelf/s3'
import { TieredStorage } from 'snapshelf/tiered'
import { runGenkitDifferential } from '../helpers/genkit-differential.js'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// GenkitSessionStore against Genkit's own InMemorySessionStore: the same seeded fast-check
// sequences, identical results required (test/helpers/genkit-differential.ts). Fixed seed by
// default (every run checks the same sequences); GENKIT_SEED=<n> replays or hunts.
const seed = Number(process.env.GENKIT_SEED ?? 20261202)

describe('GenkitSessionStore behaves as Genkit InMemorySessionStore (differential)', () => {
  for (const compression of ['gzip', 'none'] as const) {
    it(`over MemoryStorage, compression ${compression}`, async () => {
      await runGenkitDifferential({
        seed,
        numRuns: 150,
        create: () => new GenkitSessionStore({ storage: new MemoryStorage({ compression }) }),
      })
    })
  }

  it('with rejectBranchingSessions', async () => {
    await runGenkitDifferential({
      seed: seed + 1,
      numRuns: 150,
      rejectBranchingSessions: true,
      create: () => new GenkitSessionStore({ storage: new MemoryStorage(), rejectBranchingSessions: true }),
    })
  })

  it('over TieredStorage (Memory -> Memory, unsynced writes in the outbox)', async () => {
    await runGenkitDifferential({
      seed: seed + 2,
      numRuns: 40,
      create: () =>
        new GenkitSessionStore({ storage: new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage(), prefix: 'p' }) }),
    })
  })
})

describeS3('GenkitSessionStore behaves as Genkit InMemorySessionStore (differential, real S3)', () => {
  it('over S3Storage on the real server', async () => {
    const prefix = uniquePrefix('genkit-diff')
    let run = 0
    try {
      await runGenkitDifferential({
        seed: seed + 3,
        numRuns: 8,
        maxSteps: 25,
        create: () => new GenkitSessionStore({ storage: new S3Storage(s3Options({ prefix: `${prefix}/r${run++}` })) }),
      })
    } finally {
      await wipePrefix(prefix)
    }
  }, 120_000)
})
