import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { GenkitSessionStore } from 'snapshelf/genkit'
import { R2Storage, type R2StorageOptions } from 'snapshelf/r2'
import { runGenkitDifferential } from '../helpers/genkit-differential.js'

// GenkitSessionStore over R2Storage with a real R2 binding: workerd's own R2 (miniflare), driven
// from Node, because Genkit itself does not load inside workerd (its OpenTelemetry dependency
// fails module resolution there; see the issue 12 report). The binding's conditional writes
// (`onlyIf`) are workerd's, not an imitation.
let mf: Miniflare
let bucket: R2StorageOptions['bucket']
const unique = (tag: string) => `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`

beforeAll(async () => {
  mf = new Miniflare({ modules: true, script: 'export default { fetch: () => new Response() }', r2Buckets: ['SNAPSHOTS'] })
  bucket = (await mf.getR2Bucket('SNAPSHOTS')) as unknown as R2StorageOptions['bucket']
}, 60_000)
afterAll(() => mf?.dispose())

describe('GenkitSessionStore over an R2 binding (workerd R2 through miniflare)', () => {
  it('behaves as Genkit InMemorySessionStore (differential)', async () => {
    const prefix = unique('genkit-diff')
    let run = 0
    await runGenkitDifferential({
      seed: 20261204,
      numRuns: 10,
      maxSteps: 25,
      create: () => new GenkitSessionStore({ storage: new R2Storage({ bucket, prefix: `${prefix}/r${run++}` }) }),
    })
  }, 120_000)

  // Not here: 32 concurrent mutators and the agent's polled watch. Through miniflare's Node proxy
  // concurrent R2 calls fail inside the proxy itself (an internal assertion, "false == true"),
  // before they reach workerd's R2: concurrency on R2 is for a workerd test once Genkit loads there.
})
