import type { Backend } from '../core/backend.js'
import { decodeJSON } from '../core/codec.js'
import { DELTA_MAGIC } from '../core/delta.js'
import { newSnapshotId } from '../core/ids.js'
import { historyFolder, historyKey, partsFolder, sessionPrefix } from '../core/keys.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, SnapshotLocation, StoreOptions } from '../core/types.js'
import { AssertionError, equal, ok, rejects } from './assert.js'
import { prng } from './random.js'

/**
 * The contract of delta history (DESIGN.md §8), part of the contract suite: run on every tier in
 * every runtime. Snapshots here are a few KB and grow turn by turn, so deltas are really written
 * (the rest of the suite's samples are small enough to stay whole).
 */

type Made = { store: BackendSnapshotStore<Snapshot>; backend: Backend }
type Register = (
  name: string,
  fn: (made: Made) => Promise<void>,
  options?: Pick<StoreOptions, 'compression' | 'maxDecodedBytes' | 'dedup'>,
) => void

const WORDS = ['agent', 'tool', 'flight', 'Lisbon', 'hotel', 'price', 'é', '日本', 'budget', 'weather', '"quoted"', 'line\nbreak']

function prose(rand: () => number, n: number): string {
  let out = ''
  while (out.length < n) out += `${WORDS[Math.floor(rand() * WORDS.length)]} `
  return out
}

/**
 * A conversation that grows by a turn per call, and now and then does what agents do besides
 * appending: edits an earlier message, rewrites its state, adds and drops members (in an order
 * of its own, with integer-like and `__proto__` names), so the diff meets every case.
 */
function conversation(seed: number) {
  const rand = prng(seed)
  const messages: unknown[] = []
  let state: Record<string, unknown> = { step: 0 }
  return (turn: number): Snapshot => {
    messages.push({ role: 'user', content: [{ text: prose(rand, 150) }] }, { role: 'assistant', content: [{ text: prose(rand, 900) }] })
    const r = rand()
    if (r < 0.15 && messages.length > 2)
      messages[Math.floor(rand() * messages.length)] = { role: 'user', content: [{ text: prose(rand, 60) }] }
    else if (r < 0.25) state = { [String(turn)]: turn, tail: prose(rand, 30), ...state }
    else if (r < 0.32) state = JSON.parse(`{"__proto__":{"x":${turn}},"step":${turn}}`)
    else if (r < 0.38) messages.splice(1, 1)
    else state = { ...state, step: turn }
    return {
      scope: 'agent',
      schemaVersion: '1.0',
      createdAt: new Date(1_700_000_000_000 + turn * 1000).toISOString(),
      data: { messages: structuredClone(messages) as Snapshot['data'][string], state: structuredClone(state) as Snapshot['data'][string] },
      appData: r > 0.9 ? {} : { turn: String(turn) },
    }
  }
}

let counter = 0
/** Session ids start with `t`, as the rest of the suite's (an HTTP harness may authorize only those). */
function location(): SnapshotLocation {
  return {
    sessionId: `th${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 7)}`,
    scope: 'agent',
    scopeId: 'main',
  }
}

/** A second store over the same bytes: nothing remembered, nothing cached. */
function fresh(store: BackendSnapshotStore<Snapshot>): BackendSnapshotStore<Snapshot> {
  const { backend, prefix, compression, maxDecodedBytes, encryption, dedup } = store
  return new BackendSnapshotStore<Snapshot>({ backend, prefix, compression, maxDecodedBytes, encryption, dedup })
}

/** Every id of `saved` loads back as exactly the JSON text saved, through `store`. */
async function loadsExactly(store: BackendSnapshotStore<Snapshot>, l: SnapshotLocation, saved: Map<string, string>, what: string) {
  for (const [id, json] of saved) {
    const loaded = await store.loadSnapshot({ location: l, snapshotId: id })
    if (JSON.stringify(loaded) !== json) throw new AssertionError(`${what}: ${id} did not load back exactly`)
  }
}

async function keysUnder(backend: Backend, folder: string): Promise<string[]> {
  return (await backend.list(folder, { limit: 1000 })).entries.map((e) => e.key)
}

/** @internal Registers the delta-history cases with the contract suite's registrar. */
export function historyCases(t: Register): void {
  t('delta history: each save stores about what changed, and every snapshot loads back exactly', async ({ store }) => {
    const l = location()
    const whole = { ...l, scopeId: 'whole' }
    const next = conversation(7)
    const saved = new Map<string, string>()
    const plain = fresh(store)
    const wholeStore = new BackendSnapshotStore<Snapshot>({ ...plainOptions(store), dedup: false })
    for (let turn = 0; turn < 16; turn++) {
      const snapshot = next(turn)
      const { snapshotId } = await store.commitSnapshot({ location: l, snapshot })
      await wholeStore.commitSnapshot({ location: whole, snapshot })
      saved.set(snapshotId, JSON.stringify(snapshot))
    }
    const ours = (await store.listSnapshots({ location: l })).items
    const theirs = (await wholeStore.listSnapshots({ location: whole })).items
    const sum = (items: { storedBytes: number }[]) => items.reduce((a, i) => a + i.storedBytes, 0)
    ok(sum(ours) * 2 < sum(theirs), `delta history stores ${sum(ours)} B where whole snapshots take ${sum(theirs)} B`)
    ok(ours.at(-1)!.storedBytes * 3 < theirs.at(-1)!.storedBytes, "the newest snapshot's storedBytes is what it adds")
    await loadsExactly(store, l, saved, 'the writing store')
    await loadsExactly(plain, l, saved, 'a fresh store')
    equal(JSON.stringify(await plain.loadSnapshot({ location: l })), [...saved.values()].at(-1), 'latest is the newest, whole')
  })

  t('delta history: a store made per request (as in a Worker) that loads latest builds its save on it', async ({ store }) => {
    const l = location()
    const other = { ...l, scopeId: 'whole' }
    const one = { ...l, scopeId: 'one-store' }
    const whole = new BackendSnapshotStore<Snapshot>({ ...plainOptions(store), dedup: false })
    const next = conversation(5)
    const saved = new Map<string, string>()
    for (let turn = 0; turn < 10; turn++) {
      const request = fresh(store) // nothing remembered: what a Worker has at each request
      if (turn) equal(JSON.stringify(await request.loadSnapshot({ location: l })), [...saved.values()].at(-1), 'latest is the last turn')
      const snapshot = next(turn)
      saved.set((await request.commitSnapshot({ location: l, snapshot })).snapshotId, JSON.stringify(snapshot))
      await whole.commitSnapshot({ location: other, snapshot })
      await store.commitSnapshot({ location: one, snapshot })
    }
    const sum = async (at: SnapshotLocation) => (await store.listSnapshots({ location: at })).items.reduce((a, i) => a + i.storedBytes, 0)
    const [ours, single, theirs] = [await sum(l), await sum(one), await sum(other)]
    ok(ours <= single * 1.05 && ours * 1.3 < theirs, `ten saves by ten stores: ${ours} B (one store: ${single} B, whole: ${theirs} B)`)
    await loadsExactly(fresh(store), l, saved, 'built across stores')
  })

  t('delta history: deleteSnapshot and prune keep every other snapshot readable, and free what they delete', async ({ store, backend }) => {
    const l = location()
    const next = conversation(11)
    const saved = new Map<string, string>()
    for (let turn = 0; turn < 12; turn++) {
      const snapshot = next(turn)
      saved.set((await store.commitSnapshot({ location: l, snapshot })).snapshotId, JSON.stringify(snapshot))
    }
    const ids = [...saved.keys()]
    // The first is the whole snapshot every later one is built on; the sixth is in the middle.
    for (const id of [ids[0]!, ids[5]!]) {
      await store.deleteSnapshot({ location: l, snapshotId: id })
      saved.delete(id)
      equal(await store.loadSnapshot({ location: l, snapshotId: id }), null, 'a deleted snapshot is gone')
    }
    await loadsExactly(store, l, saved, 'after deleteSnapshot')
    await loadsExactly(fresh(store), l, saved, 'after deleteSnapshot, a fresh store')
    equal(await store.prune({ location: l, keepLast: 3 }), 7, 'prune deletes the seven beyond the newest three')
    for (const id of ids.slice(0, -3)) saved.delete(id)
    equal(await store.listSnapshotIds({ location: l }), ids.slice(-3))
    await loadsExactly(fresh(store), l, saved, 'after prune, a fresh store')
    equal((await keysUnder(backend, historyFolder(store.prefix, l))).length, 3, 'three history objects stay')
    ok((await keysUnder(backend, partsFolder(store.prefix, l))).length <= 1, 'at most the oldest survivor has a whole copy')
    await store.deleteSession({ sessionId: l.sessionId })
    equal(await keysUnder(backend, sessionPrefix(store.prefix, l.sessionId)), [], 'deleteSession removes every part')
  })

  t('delta history: dedup false stores every history object whole, and either store reads the other', async ({ store, backend }) => {
    const l = location()
    const next = conversation(3)
    const saved = new Map<string, string>()
    const whole = new BackendSnapshotStore<Snapshot>({ ...plainOptions(store), dedup: false })
    for (let turn = 0; turn < 6; turn++) {
      const snapshot = next(turn)
      saved.set((await whole.commitSnapshot({ location: l, snapshot })).snapshotId, JSON.stringify(snapshot))
    }
    for (const id of saved.keys()) {
      const key = historyKey(store.prefix, l, id)
      const body = (await backend.get(key))!.body
      if (!store.encryption) await decodeJSON(body, key, 1 << 26) // whole JSON (throws on a delta)
    }
    await loadsExactly(store, l, saved, 'a dedup store reading whole history')
    for (let turn = 6; turn < 10; turn++) {
      const snapshot = next(turn)
      saved.set((await store.commitSnapshot({ location: l, snapshot })).snapshotId, JSON.stringify(snapshot))
    }
    await loadsExactly(whole, l, saved, 'a dedup: false store reading delta history')
    await rejects(
      () => Promise.resolve(new BackendSnapshotStore({ backend, dedup: 'yes' as never })),
      'ERR_VALIDATION',
      'dedup must be a boolean',
    )
  })

  t('delta history: a missing parent, a bad link or a garbled delta is ERR_CORRUPT naming the key', async ({ store, backend }) => {
    if (store.encryption) return // planted plaintext is refused before any delta is read (see the encryption suite)
    const l = location()
    const { prefix } = store
    const [parent, child, older] = [newSnapshotId(), newSnapshotId(), newSnapshotId()]
    const plant = (id: string, text: string) => backend.put(historyKey(prefix, l, id), new TextEncoder().encode(text))
    const delta = (p: string, o: unknown) => `${DELTA_MAGIC}${JSON.stringify({ p, c: p, d: 1, b: 10, h: '0'.repeat(32), s: 1 << 30, o })}`
    await plant(child, delta(parent, [2, { more: [0, 1] }]))
    await rejects(() => fresh(store).loadSnapshot({ location: l, snapshotId: child }), 'ERR_CORRUPT', 'a missing parent')
    const missing = await fresh(store)
      .loadSnapshot({ location: l, snapshotId: child })
      .catch((e: { key?: string }) => e.key)
    equal(missing, historyKey(prefix, l, parent), 'the error names the missing key')
    await plant(older, delta(child, [0, {}])) // built on a younger "parent": a cycle in the making
    await rejects(() => fresh(store).loadSnapshot({ location: l, snapshotId: older }), 'ERR_CORRUPT', 'a parent that is not older')
    await plant(parent, JSON.stringify({ list: [1] }))
    await plant(child, delta(parent, [2, { list: [1, 5, [2]] }])) // keeps 5 items of a 1-item array
    await rejects(() => fresh(store).loadSnapshot({ location: l, snapshotId: child }), 'ERR_CORRUPT', 'an op that does not fit')
    await plant(child, delta(parent, [2, { list: [1, 1, [2]] }])) // fits, but rebuilds to another snapshot than its hash
    await rejects(() => fresh(store).loadSnapshot({ location: l, snapshotId: child }), 'ERR_CORRUPT', 'a hash that does not match')
    await plant(child, `${DELTA_MAGIC}{"p":"nope"}`)
    await rejects(() => fresh(store).loadSnapshot({ location: l, snapshotId: child }), 'ERR_CORRUPT', 'a garbled delta')
  })

  t('delta history: seeded random interleavings of writers, deletes, prunes and loads match a model', async ({ store }) => {
    const seed = 20261204
    const rand = prng(seed)
    const l = location()
    const writers = [store, fresh(store)]
    const next = writers.map((_, i) => conversation(seed + i))
    const turns = [0, 0]
    const model = new Map<string, string>()
    for (let round = 0; round < 10; round++) {
      // Two or three operations in flight at once: their requests interleave on the backend.
      const ops = Array.from({ length: 2 + Math.floor(rand() * 2) }, () => {
        const r = rand()
        const w = Math.floor(rand() * 2)
        const ids = [...model.keys()]
        if (r < 0.6 || ids.length < 3) {
          const snapshot = next[w]!(turns[w]!++)
          return async () => {
            const { snapshotId } = await writers[w]!.commitSnapshot({ location: l, snapshot })
            model.set(snapshotId, JSON.stringify(snapshot))
          }
        }
        if (r < 0.85) {
          const id = ids[Math.floor(rand() * ids.length)]!
          model.delete(id)
          return () => writers[w]!.deleteSnapshot({ location: l, snapshotId: id })
        }
        const keepLast = 2 + Math.floor(rand() * 3)
        // What prune deletes is decided by its listing; the model follows what is gone after.
        return async () => {
          await writers[w]!.prune({ location: l, keepLast })
        }
      })
      try {
        await Promise.all(ops.map((op) => op()))
      } catch (error) {
        throw new AssertionError(`seed ${seed}, round ${round}: ${(error as Error).message}`)
      }
      const listed = new Set(await store.listSnapshotIds({ location: l }))
      for (const id of model.keys()) if (!listed.has(id)) model.delete(id)
      equal(
        [...listed].filter((id) => !model.has(id)),
        [],
        `seed ${seed}, round ${round}: nothing deleted comes back`,
      )
      await loadsExactly(fresh(store), l, model, `seed ${seed}, round ${round}`)
    }
  })
}

/** The options `store` was built with, for a sibling store over the same bytes. */
function plainOptions(store: BackendSnapshotStore<Snapshot>) {
  const { backend, prefix, compression, maxDecodedBytes, encryption } = store
  return { backend, prefix, compression, maxDecodedBytes, encryption }
}
