import { emptyCheckpoint } from '@langchain/langgraph-checkpoint'
import { expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
import { TieredStorage } from 'snapshelf/tiered'

// A thread written on one local-first device and synced, read on a second device (a fresh local
// tier over the same remote).

const meta = { source: 'input' as const, step: -1, parents: {} }

async function twoDevices() {
  const remote = new MemoryStorage()
  const laptop = new TieredStorage({ local: new MemoryStorage(), remote })
  const checkpoint = emptyCheckpoint()
  const config = await new SnapshelfCheckpointSaver({ storage: laptop }).put({ configurable: { thread_id: 't' } }, checkpoint, meta, {})
  expect((await laptop.sync()).conflicts).toEqual([])
  const phone = new SnapshelfCheckpointSaver({ storage: new TieredStorage({ local: new MemoryStorage(), remote }) })
  return { checkpoint, config, phone }
}

it('a checkpoint named by its id is read through to the remote on the second device', async () => {
  const { checkpoint, config, phone } = await twoDevices()
  expect((await phone.getTuple(config))?.checkpoint).toEqual(checkpoint)
})

// A listing outside the snapshot layout (the saver's langgraph/ folder) goes through to the
// remote while it answers, merged with the local tier (src/tiered, issue 11): so a second device
// finds the newest checkpoint of a thread it never read.
it('the second device finds the newest checkpoint of a thread it never read', async () => {
  const { checkpoint, phone } = await twoDevices()
  expect((await phone.getTuple({ configurable: { thread_id: 't' } }))?.checkpoint).toEqual(checkpoint)
})
