import { describe, expect } from 'vitest'
import { type Backend, MemoryStorage } from 'snapshelf'
import { S3Storage } from 'snapshelf/s3'
import { TieredStorage } from 'snapshelf/tiered'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// LangGraph's validation suite over TieredStorage: every write lands in the local tier and its
// outbox (how each key was written: create-only, plain put, delete), every read comes from the
// local tier. Two remotes: memory, and the real Ceph. After each suite every tiered store is
// synced, and the remote must then hold exactly the adapter keys the local tier holds, byte for
// byte (deleteThread and replaced writes included), with no conflict.

interface Device {
  tiered: TieredStorage
  local: MemoryStorage
  remote: { backend: Backend; prefix: string }
}

/** Every key under `root` with its bytes, outside the tiered store's own `.snapshelf/` state. */
async function contents(backend: Backend, root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  let startAfter: string | undefined
  for (;;) {
    const page = await backend.list(root, { startAfter, limit: 1000 })
    for (const { key } of page.entries) {
      if (key.slice(root.length).startsWith('.snapshelf/')) continue
      out.set(key.slice(root.length), Buffer.from((await backend.get(key))!.body).toString('base64'))
    }
    if (!page.truncated) return out
    startAfter = page.entries.at(-1)!.key
  }
}

function syncedSuite(tier: string, remote: () => { backend: Backend; prefix: string }, after?: () => Promise<void>) {
  const devices: Device[] = []
  return runLangGraphValidation(
    tier,
    () => {
      const device = { local: new MemoryStorage(), remote: remote() } as Device
      device.tiered = new TieredStorage({ local: device.local, remote: device.remote as S3Storage, prefix: 'lg' })
      devices.push(device)
      return device.tiered
    },
    {
      afterAll: async () => {
        try {
          for (const { tiered, local, remote } of devices) {
            const result = await tiered.sync()
            expect(result.conflicts).toEqual([])
            // The tiered prefix places keys locally; the remote keeps its own placement (its prefix).
            const remoteRoot = remote.prefix ? `${remote.prefix}/` : ''
            expect(await contents(remote.backend, remoteRoot)).toEqual(await contents(local.backend, 'lg/'))
          }
          expect(devices.length).toBeGreaterThan(10)
        } finally {
          await after?.()
        }
      },
    },
  )
}

describe('LangGraph validation over TieredStorage (Memory -> Memory)', () =>
  syncedSuite('TieredStorage (Memory -> Memory)', () => new MemoryStorage()))

const prefixes: string[] = []
describeS3('LangGraph validation over TieredStorage (Memory -> S3 on Ceph)', () =>
  syncedSuite(
    'TieredStorage (Memory -> S3 on Ceph)',
    () => {
      const prefix = uniquePrefix('lgt')
      prefixes.push(prefix)
      return new S3Storage(s3Options({ prefix }))
    },
    async () => void (await Promise.all(prefixes.map(wipePrefix))),
  ),
)
