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
  // Unsubscribe exactly while the next change is decoding (gunzip starts a DecompressionStream).
  const Real = globalThis.DecompressionStream
  let decoded!: () => void
  const done = new Promise<void>((resolve) => (decoded = resolve))
  globalThis.DecompressionStream = class {
    constructor(format: CompressionFormat) {
      stop()
      setTimeout(decoded, 50)
      // biome-ignore lint/correctness/noConstructorReturn: a stand-in that hands out the real stream, to time the unsubscribe
      return new Real(format)
    }
  } as typeof DecompressionStream
  try {
    await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(1) })
    await done
  } finally {
    globalThis.DecompressionStream = Real
  }
  expect(reads).toBe(2)
  expect(heard).toEqual([])
})
