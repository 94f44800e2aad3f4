import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { R2Storage } from 'snapshelf/r2'
import { StrandsStorage } from 'snapshelf/strands'
import { converse, expectRestored, strandsAgent } from '../helpers/strands-agent.js'
import { runDifferential, seedFrom } from '../helpers/strands-differential.js'

// StrandsStorage inside real workerd over miniflare's local R2 binding: a real Strands Agent saves
// and restores its session, and the differential test against Strands' InMemoryStorage runs on R2.
const bucket = env.SNAPSHOTS
const unique = (tag: string) => `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`

it('runs inside workerd, not Node', () => {
  expect(navigator.userAgent).toBe('Cloudflare-Workers')
})

it('a Strands Agent saves through StrandsStorage over R2Storage; a new Agent (new storage objects) restores it', async () => {
  const prefix = unique('strands-agent')
  const sessionId = unique('trip')
  const left = await converse(strandsAgent(new StrandsStorage({ storage: new R2Storage({ bucket, prefix }) }), sessionId))
  await expectRestored(new StrandsStorage({ storage: new R2Storage({ bucket, prefix }) }), sessionId, left)
  // The sessions are the snapshot layout under `<prefix>/session`: a plain R2Storage reads them.
  const latest = await new R2Storage({ bucket, prefix: `${prefix}/session` }).loadSnapshot({
    location: { sessionId, scope: 'agent', scopeId: 'planner' },
  })
  expect(latest?.data.state).toEqual({ city: 'Lisbon', days: 3 })
})

it('behaves as Strands InMemoryStorage on R2 (differential; seed printed on failure)', async () => {
  const ours = new StrandsStorage({ storage: new R2Storage({ bucket, prefix: unique('strands-diff') }) })
  await runDifferential({ seed: seedFrom(undefined), steps: 300, ours, label: 'r2 (workerd)' })
})
