import { expect, it } from 'vitest'
import { MemoryStorage, newSnapshotId } from 'snapshelf'
import { runContractSuite, sampleSnapshot } from 'snapshelf/testing'

runContractSuite(it, { name: 'MemoryStorage (node)', create: async (options) => ({ store: new MemoryStorage(options) }) })

it('watchLatest: an unsubscribe while a change is being decoded silences that change', async () => {
  const store = new MemoryStorage()
  const location = { sessionId: 'watch-stop', scope: 'agent', scopeId: 'main' }
  await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(0) })
  const heard: unknown[] = []
  let baseline!: () => void
  const ready = new Promise<void>((resolve) => (baseline = resolve))
  // The baseline read (a HEAD: polls never download an unchanged snapshot) happens first; wait
  // for it through the backend so no timer is involved.
  const head = store.backend.head.bind(store.backend)
  let reads = 0
  store.backend.head = async (...args) => {
    const found = await head(...args)
    if (++reads === 1) queueMicrotask(baseline)
    return found
  }
  const stop = store.watchLatest({ location, onChange: (s) => heard.push(s) })
  await ready
  // Unsubscribe exactly while the next change is decoding: its bytes are read, the decode comes
  // next. (Hooked at the read, not at the decompressor: which one decodes depends on the runtime.)
  const get = store.backend.get.bind(store.backend)
  let decoded!: () => void
  const done = new Promise<void>((resolve) => (decoded = resolve))
  store.backend.get = async (...args) => {
    const found = await get(...args)
    stop()
    setTimeout(decoded, 50)
    return found
  }
  await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(1) })
  await done
  expect(reads).toBe(2)
  expect(heard).toEqual([])
})
