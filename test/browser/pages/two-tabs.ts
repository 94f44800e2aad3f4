import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { sampleSnapshot } from 'snapshelf/testing'
import { newSnapshotId, type Snapshot, type SnapshotLocation } from 'snapshelf'

/**
 * The page of the two-tab test (test/node/indexeddb-chromium.test.ts): bundled with esbuild,
 * loaded in two pages of one origin, driven through `window.tab`.
 */
const tab = {
  changes: [] as Snapshot[],
  storage: undefined as IndexedDBStorage | undefined,

  open(dbName: string): void {
    tab.storage = new IndexedDBStorage({ dbName })
  },

  /** Starts watching latest; every change lands in `tab.changes`. Resolves once subscribed. */
  async watch(location: SnapshotLocation): Promise<void> {
    tab.storage!.watchLatest({ location, onChange: (s) => void tab.changes.push(s) })
    // The watcher reads its baseline first; give that read time to land.
    await new Promise((r) => setTimeout(r, 100))
  },

  async setLatest(location: SnapshotLocation, tag: string): Promise<void> {
    await tab.storage!.updateLatest({ location, mutate: () => sampleSnapshot(tag) })
  },

  /** `n` concurrent read-modify-write increments of data.count, each appending its writer id. */
  async increments(location: SnapshotLocation, writer: string, n: number): Promise<number> {
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        tab.storage!.updateLatest({
          location,
          maxAttempts: 1000,
          mutate: async (current) => {
            // Yield so the other tab's transactions interleave with ours.
            await new Promise((r) => setTimeout(r, Math.random() * 3))
            const data = (current?.data ?? { count: 0, writers: [] }) as { count: number; writers: string[] }
            return {
              ...(current ?? sampleSnapshot('counter')),
              data: { count: data.count + 1, writers: [...data.writers, `${writer}-${i}`] },
            }
          },
        }),
      ),
    )
    return results.filter((r) => r.committed).length
  },

  async load(location: SnapshotLocation): Promise<Snapshot | null> {
    return tab.storage!.loadSnapshot({ location })
  },

  /** Opens `dbName` at a higher version with raw IndexedDB, as a newer snapshelf in this tab would. */
  upgrade(dbName: string, version: number): Promise<'opened' | 'blocked'> {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(dbName, version)
      request.onblocked = () => resolve('blocked')
      request.onsuccess = () => {
        request.result.close()
        resolve('opened')
      }
      request.onerror = () => reject(request.error)
    })
  },

  /**
   * Saves ~200 KiB snapshots (uncompressed, so sizes are known) until the quota refuses one,
   * then reports what the error was and whether everything saved before is intact.
   */
  async fillUntilQuota(location: SnapshotLocation) {
    const storage = tab.storage!
    const saved: string[] = []
    let error: { code?: string; name?: string; key?: string; cause?: { name?: string } } | undefined
    const big = (i: number) =>
      sampleSnapshot(i, {
        noise: Array.from({ length: 200 * 1024 }, () => String.fromCharCode(65 + Math.floor(Math.random() * 26))).join(''),
      })
    let failedId: string | undefined
    for (let i = 0; i < 100 && !error; i++) {
      const id = newSnapshotId()
      failedId = id
      try {
        await storage.commitSnapshot({ location, snapshotId: id, snapshot: big(i) })
        saved.push(id)
      } catch (e) {
        error = e as typeof error
      }
    }
    const listed = await storage.listSnapshotIds({ location })
    let loadable = 0
    for (const id of listed) if ((await storage.loadSnapshot({ location, snapshotId: id }))?.scope === 'agent') loadable++
    const latestTag = (await storage.loadSnapshot({ location }))?.appData.tag
    // Space freed, writing works again.
    const pruned = await storage.prune({ location, keepLast: 1 })
    await storage.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('after') })
    const afterTag = (await storage.loadSnapshot({ location }))?.appData.tag
    return {
      saved,
      failedId,
      listed,
      loadable,
      latestTag,
      pruned,
      afterTag,
      error: error && { code: error.code, name: error.name, key: error.key, causeName: error.cause?.name },
    }
  },

  /** Runs `fn` and returns the error's code (or 'resolved'). */
  async codeOf(fn: () => Promise<unknown>): Promise<string> {
    try {
      await fn()
      return 'resolved'
    } catch (e) {
      return (e as { code?: string }).code ?? String(e)
    }
  },
}

declare global {
  interface Window {
    tab: typeof tab
  }
}
window.tab = tab
