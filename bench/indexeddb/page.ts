import { openDB } from 'idb'
import { createStore, get as kvGet, set as kvSet } from 'idb-keyval'
import { encodeJSON, newSnapshotId, type Snapshot } from 'snapshelf'
import { IndexedDBBackend, IndexedDBStorage } from 'snapshelf/indexeddb'

/**
 * The in-page half of bench/indexeddb.bench.mjs. Every variant saves then loads the same
 * snapshot size, one awaited operation at a time (what an agent does), in interleaved rounds;
 * the Node side takes medians. Raw idb and idb-keyval store the very bytes our store writes.
 */

type Variant = { name: string; save(i: number): Promise<void>; load(i: number): Promise<void> }

/** A Strands-shaped snapshot of about `bytes` of JSON: chat turns of varied text. */
function snapshotOf(bytes: number): Snapshot {
  const words = [
    'agent',
    'tool',
    'result',
    'user',
    'asked',
    'for',
    'the',
    'weather',
    'in',
    'Paris',
    'returned',
    '21°C',
    'cloudy',
    'plan',
    'step',
  ]
  const messages: { role: string; content: { text: string }[] }[] = []
  let size = 0
  for (let i = 0; size < bytes - 200; i++) {
    const text = `${Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 3 + ((i * j) % 5)) % words.length]).join(' ')} #${i}`
    messages.push({ role: i % 2 ? 'assistant' : 'user', content: [{ text }] })
    size += text.length + 40
  }
  return { scope: 'agent', schemaVersion: '1.0', createdAt: new Date().toISOString(), data: { messages }, appData: {} }
}

async function timeOps(n: number, op: (i: number) => Promise<void>): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < n; i++) await op(i)
  return (n * 1000) / (performance.now() - start)
}

async function variants(bytes: number, tag: string): Promise<{ variants: Variant[]; storedBytes: Record<string, number> }> {
  const snapshot = snapshotOf(bytes)
  const plain = await encodeJSON(snapshot, 'none', 1 << 30)
  const gzip = await encodeJSON(snapshot, 'gzip', 1 << 30)
  const location = (name: string) => ({ sessionId: `bench-${tag}-${name}`, scope: 'agent', scopeId: 'main' })
  const out: Variant[] = []

  const raw = await openDB(`bench-raw-${tag}`, 1, { upgrade: (db) => void db.createObjectStore('s') })
  const rawKeys: string[] = []
  out.push({
    name: 'raw idb put/get',
    save: async (i) => {
      rawKeys[i] = `k/${newSnapshotId()}`
      await raw.put('s', plain, rawKeys[i])
    },
    load: async (i) => void (await raw.get('s', rawKeys[i]!)),
  })

  // The same bytes through IndexedDB's own request API, no promise wrapper: one record per write,
  // then two records per write in one transaction (our layout: payload + metadata row, so that
  // listings never read payloads). The second is the floor of what our backend can reach.
  const native = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(`bench-native-${tag}`, 1)
    open.onupgradeneeded = () => {
      open.result.createObjectStore('s')
      open.result.createObjectStore('m', { keyPath: 'key' })
    }
    open.onsuccess = () => resolve(open.result)
    open.onerror = () => reject(open.error)
  })
  const commit = (tx: IDBTransaction) =>
    new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onabort = () => reject(tx.error)
    })
  const nativeGet = (key: string) =>
    new Promise<void>((resolve, reject) => {
      const r = native.transaction('s').objectStore('s').get(key)
      r.onsuccess = () => resolve()
      r.onerror = () => reject(r.error)
    })
  const oneKeys: string[] = []
  out.push({
    name: 'raw IndexedDB API put/get, 1 record',
    save: (i) => {
      const tx = native.transaction('s', 'readwrite')
      oneKeys[i] = `1/${newSnapshotId()}`
      tx.objectStore('s').put(plain, oneKeys[i])
      return commit(tx)
    },
    load: (i) => nativeGet(oneKeys[i]!),
  })
  const twoKeys: string[] = []
  out.push({
    name: 'raw IndexedDB API put/get, 2 records',
    save: (i) => {
      const tx = native.transaction(['s', 'm'], 'readwrite')
      const key = `2/${newSnapshotId()}`
      twoKeys[i] = key
      tx.objectStore('m').add({ key, size: plain.length, etag: 'e' })
      tx.objectStore('s').put({ etag: 'e', body: plain }, key)
      return commit(tx)
    },
    load: (i) => nativeGet(twoKeys[i]!),
  })

  // What a user without us would likely do: put the snapshot object itself (structured clone).
  const objKeys: string[] = []
  out.push({
    name: 'raw idb put/get of the object (no JSON)',
    save: async (i) => {
      objKeys[i] = `o/${newSnapshotId()}`
      await raw.put('s', snapshot, objKeys[i])
    },
    load: async (i) => void (await raw.get('s', objKeys[i]!)),
  })

  const kv = createStore(`bench-kv-${tag}`, 's')
  const kvKeys: string[] = []
  out.push({
    name: 'idb-keyval set/get',
    save: (i) => {
      kvKeys[i] = `k/${newSnapshotId()}`
      return kvSet(kvKeys[i], plain, kv)
    },
    load: async (i) => void (await kvGet(kvKeys[i]!, kv)),
  })

  const backend = new IndexedDBBackend({ dbName: `bench-backend-${tag}` })
  const backendKeys: string[] = []
  out.push({
    name: 'ours: backend put/get (same bytes)',
    save: async (i) => {
      backendKeys[i] = `k/${newSnapshotId()}`
      await backend.put(backendKeys[i], plain, { ifNoneMatch: '*' })
    },
    load: async (i) => void (await backend.get(backendKeys[i]!)),
  })

  for (const compression of ['none', 'gzip'] as const) {
    for (const isLatest of [false, true]) {
      const storage = new IndexedDBStorage({ dbName: `bench-ours-${compression}-${isLatest}-${tag}`, compression })
      const l = location(`${compression}-${isLatest}`)
      const ids: string[] = []
      out.push({
        name: `ours: ${compression === 'none' ? "compression 'none'" : "compression 'gzip'"}${isLatest ? ', commitSnapshot (2 writes)' : ''}`,
        save: (i) => {
          ids[i] = newSnapshotId()
          return isLatest
            ? storage.commitSnapshot({ location: l, snapshotId: ids[i], snapshot })
            : storage.saveSnapshot({ location: l, snapshotId: ids[i], isLatest: false, snapshot })
        },
        load: async (i) => void (await storage.loadSnapshot({ location: l, snapshotId: ids[i]! })),
      })
    }
  }
  return { variants: out, storedBytes: { json: plain.length, gzip: gzip.length } }
}

/**
 * Runs `rounds` interleaved rounds of `n` saves then `n` loads per variant; returns every
 * round's ops/s per variant (the Node side takes medians).
 */
async function run(bytes: number, n: number, rounds: number) {
  const tag = `${bytes}-${Date.now().toString(36)}`
  const { variants: vs, storedBytes } = await variants(bytes, tag)
  const results: Record<string, { save: number[]; load: number[] }> = {}
  for (const v of vs) results[v.name] = { save: [], load: [] }
  // Warm-up: opens every database, JITs the paths.
  for (const v of vs) {
    await timeOps(5, v.save)
    await timeOps(5, v.load)
  }
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no variant always runs first (or last) in a round.
    for (let k = 0; k < vs.length; k++) {
      const v = vs[(k + r) % vs.length]!
      results[v.name]!.save.push(await timeOps(n, v.save))
      results[v.name]!.load.push(await timeOps(n, v.load))
    }
  }
  return { bytes, storedBytes, results }
}

declare global {
  interface Window {
    bench: { run: typeof run }
  }
}
window.bench = { run }
