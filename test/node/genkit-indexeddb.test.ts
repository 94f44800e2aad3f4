import 'fake-indexeddb/auto'
import { describe, expect, it } from 'vitest'
import { GenkitSessionStore } from 'snapshelf/genkit'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { genkitAgent } from '../helpers/genkit-agent.js'
import { runGenkitDifferential } from '../helpers/genkit-differential.js'

// GenkitSessionStore over IndexedDBStorage in Node with fake-indexeddb: Genkit itself does not
// load in a browser page (its Node dependencies), so the Chromium run of this adapter waits for a
// Genkit that does; see the issue 12 report. The IndexedDB tier's compare-and-swap is the same
// readwrite-transaction version check here as in Chromium (test/browser/ runs its contract).
const unique = (tag: string) => `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`

describe('GenkitSessionStore over IndexedDB (fake-indexeddb)', () => {
  it('behaves as Genkit InMemorySessionStore (differential)', async () => {
    await runGenkitDifferential({
      seed: 20261205,
      numRuns: 25,
      maxSteps: 30,
      create: () => new GenkitSessionStore({ storage: new IndexedDBStorage({ dbName: unique('genkit-diff') }) }),
    })
  }, 120_000)

  it('32 concurrent mutators on one id lose nothing', async () => {
    const store = new GenkitSessionStore({ storage: new IndexedDBStorage({ dbName: unique('genkit-cas') }) })
    const id = (await store.saveSnapshot(undefined, () => ({
      sessionId: 'race',
      createdAt: new Date().toISOString(),
      status: 'completed',
      state: { custom: { count: 0 } },
    })))!
    const results = await Promise.all(
      Array.from({ length: 32 }, () =>
        store.saveSnapshot(id, (current) => ({
          ...current!,
          state: { custom: { count: (current!.state!.custom as { count: number }).count + 1 } },
        })),
      ),
    )
    expect(results).toEqual(Array(32).fill(id))
    expect((await store.getSnapshot({ sessionId: 'race' }))?.state?.custom).toEqual({ count: 32 })
  }, 60_000)

  it('a Genkit agent: multi-turn, and a detached turn aborted through the watch', async () => {
    const store = new GenkitSessionStore({ storage: new IndexedDBStorage({ dbName: unique('genkit-agent') }), watchIntervalMs: 100 })
    const { agent, runTurn, seen } = genkitAgent(store)
    const first = await runTurn({ sessionId: 'idb-chat' }, 'hello')
    const second = await runTurn({ sessionId: 'idb-chat' }, 'again')
    expect(second.message?.content[0]?.text).toBe('echo 2: again')
    expect((await store.getSnapshot({ sessionId: 'idb-chat' }))?.parentId).toBe(first.snapshotId)
    const detached = await runTurn({ sessionId: 'idb-chat' }, 'wait', true)
    await expect.poll(() => seen.waiting, { timeout: 10_000 }).toBe(1)
    expect(await agent.abort(detached.snapshotId!)).toBe('pending')
    await expect.poll(() => seen.aborted, { timeout: 10_000 }).toBe(1)
    expect((await store.getSnapshot({ snapshotId: detached.snapshotId! }))?.status).toBe('aborted')
  }, 60_000)
})
