// @vitest-environment happy-dom
import 'fake-indexeddb/auto'
import { deleteDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { newSnapshotId, type SnapshelfError } from 'snapshelf'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { runContractSuite, sampleSnapshot } from 'snapshelf/testing'
import { caught, indexedDBHarness, location, registerIndexedDBCases, uniqueDbName } from '../browser/indexeddb-cases.js'

// The fast run: happy-dom (BroadcastChannel, CompressionStream) + fake-indexeddb. The same suite
// and cases run in real Chromium from test/browser/ (vitest.browser.config.ts).

runContractSuite(it, indexedDBHarness('IndexedDBStorage (happy-dom + fake-indexeddb)'))

registerIndexedDBCases('happy-dom + fake-indexeddb')

describe('IndexedDB quota (happy-dom + fake-indexeddb, forced)', () => {
  it('QuotaExceededError is ERR_QUOTA naming the key, and everything stored before is intact', async () => {
    // fake-indexeddb has no quota, so the failure is injected the way Firefox reports it: the put
    // request fails with QuotaExceededError and the transaction aborts. Real Chromium (quota at
    // commit) is tested in test/node/indexeddb-chromium.test.ts.
    const dbName = uniqueDbName()
    const store = new IndexedDBStorage({ dbName })
    const l = location()
    const firstId = newSnapshotId()
    await store.commitSnapshot({ location: l, snapshotId: firstId, snapshot: sampleSnapshot('first') })
    const proto = IDBObjectStore.prototype as unknown as { put: (...a: unknown[]) => IDBRequest }
    const put = proto.put
    proto.put = function (this: IDBObjectStore & { transaction: { _execRequestAsync(o: object): IDBRequest } }, ...args: unknown[]) {
      if (this.name !== 'bodies') return put.apply(this, args)
      return this.transaction._execRequestAsync({
        source: this,
        operation: () => {
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
        },
      })
    }
    let err: SnapshelfError
    const secondId = newSnapshotId()
    try {
      err = await caught(() => store.commitSnapshot({ location: l, snapshotId: secondId, snapshot: sampleSnapshot('second') }))
    } finally {
      proto.put = put
    }
    expect(err.code).toBe('ERR_QUOTA')
    expect(err.name).toBe('QuotaError')
    expect(err.key).toContain(secondId)
    expect((err.cause as Error).name).toBe('QuotaExceededError')
    expect((await store.loadSnapshot({ location: l }))?.appData.tag).toBe('first')
    expect(await store.listSnapshotIds({ location: l })).toEqual([firstId])
    expect(await store.hasSnapshot({ location: l, snapshotId: secondId })).toBe(false)
    store.close()
    await deleteDB(dbName)
  })
})
