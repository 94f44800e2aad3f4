import type { BackendPutOptions } from '../core/backend.js'
import { decodeJSON } from '../core/codec.js'
import { ConflictError } from '../core/errors.js'
import { sha256Hex } from '#platform'
import { backoffMs, sleep } from '../core/util.js'
import { type SyncContext, remoteGet, withRetries } from './context.js'
import { copyToLocal } from './outbox.js'
import { type FolderState, slotOf } from './state.js'
import { bothChanged, decide, type Sides } from './winner.js'

/**
 * Reconcile: brings one mutable key (written by compare-and-swap or plain overwrite) to
 * agreement between the tiers, three-way against the state they last agreed on (see winner.ts
 * for the rule). Encoded bytes are compared by SHA-256 and copied as they are; content is
 * decoded only when both sides changed, to read its date. Each tier moves only by
 * compare-and-swap (If-Match its ETag, If-None-Match when absent), so a write racing the sync is
 * re-read and decided again, never overwritten.
 */

/**
 * What reconciling one key did:
 * - `same`: both tiers already held the same bytes;
 * - `kept`: the remote deleted it and the local copy is unchanged: left alone on both sides;
 * - `pushed` / `pulled`: the winning bytes were copied;
 * - `held`: a local change wins but waits in the outbox: a write this run may not push
 *   (hydrate), or a delete queued while the run was going.
 *
 * @example
 * const result = await reconcileKey(context, folder, rel, state)
 */
export type Reconciled = 'same' | 'kept' | 'pushed' | 'pulled' | 'held'

/** Attempts before a key that keeps changing under the sync is reported as a conflict. */
const ATTEMPTS = 10

/**
 * Reconciles `rel`, a mutable key of `folder`, against the agreed state kept for it in `state`,
 * and records the new agreed state there; resolves what happened. A run that pushes nothing
 * never writes the remote.
 *
 * @example
 * const result = await reconcileKey(context, folder, rel, state)
 */
export async function reconcileKey(context: SyncContext, folder: string, rel: string, state: FolderState): Promise<Reconciled> {
  const { local, remote, localRoot, remoteRoot, signal } = context
  const slot = slotOf(folder, rel)
  const agreed = state[slot]
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // Full-jitter backoff between attempts: 20 ms base, 1 s cap.
    if (attempt) await sleep(backoffMs(attempt, 20, 1000), signal)
    const localObj = await local.get(localRoot + rel, { signal })
    const head = await withRetries(context, () => remote.head(remoteRoot + rel, { signal }))
    // The remote ETag we agreed on still stands: its bytes are the agreed ones, no download.
    const unchanged = head !== null && head.etag === agreed?.etag
    const remoteObj = head && !unchanged ? await remoteGet(context, rel) : null
    const sides: Sides = {
      local: localObj && (await sha256Hex(localObj.body)),
      remote: unchanged ? agreed!.base : remoteObj && (await sha256Hex(remoteObj.body)),
      agreed: agreed?.base ?? null,
    }
    // Both changed: only now is the content decoded, for its date. remoteObj is set: the
    // remote hash differs from the agreed one, so it came from a download.
    if (bothChanged(sides)) {
      sides.localTime = await contentTime(context, rel, localObj!.body)
      sides.remoteTime = await contentTime(context, rel, remoteObj!.body)
    }
    const decision = decide(sides)
    if (decision === 'keep') return 'kept'
    if (decision === 'same') {
      // `undefined` ("agreed on absence") is left out of the stored JSON.
      state[slot] = sides.local === null ? undefined : { base: sides.local, etag: (remoteObj ?? head)!.etag }
      return 'same'
    }
    if (decision === 'push') {
      if (context.push === 'nothing') return 'held'
      const cas = { ...casOn(remoteObj ?? head, signal), metadata: localObj!.metadata }
      const put = await withRetries(context, () => remote.put(remoteRoot + rel, localObj!.body, cas))
      if (!put) continue
      state[slot] = { base: sides.local!, etag: put.etag }
      return 'pushed'
    }
    const pulled = remoteObj ?? (await remoteGet(context, rel))
    // Gone between the HEAD and the GET: decide again.
    if (!pulled) continue
    const copy = await copyToLocal(context, rel, pulled.body, { ...casOn(localObj, signal), metadata: pulled.metadata })
    // A delete of it was queued since the run began: the delete wins, and waits for a push.
    if (copy.result === 'deleted') return 'held'
    // The local key changed under us: decide again.
    if (copy.result === 'raced') continue
    state[slot] = { base: await sha256Hex(pulled.body), etag: pulled.etag }
    return 'pulled'
  }
  throw new ConflictError(`${remoteRoot}${rel} kept changing during sync`, { key: remoteRoot + rel })
}

/** Compare-and-swap against the object as read, or create-only when it was absent. */
function casOn(current: { etag: string } | null, signal?: AbortSignal): BackendPutOptions {
  return current ? { signal, ifMatch: current.etag } : { signal, ifNoneMatch: '*' }
}

/**
 * When content was written, in ms: its `updatedAt` (a manifest's), else its `createdAt` (a
 * snapshot's), opened first when the store has `encryption`. Undated, undecodable or unopenable
 * bytes are `-Infinity`: they never win on time.
 *
 * @example
 * const written = await contentTime(context, rel, obj.body)
 */
export async function contentTime(context: SyncContext, rel: string, body: Uint8Array): Promise<number> {
  const { open, maxDecodedBytes } = context.settings
  // Sealed content (a store with `encryption`) is opened first; what does not open is undated.
  const raw = open ? await open(body, rel).catch(() => null) : body
  const value = raw && (await decodeJSON<Record<string, unknown>>(raw, rel, maxDecodedBytes).catch(() => null))
  for (const time of [value?.updatedAt, value?.createdAt].map((date) => Date.parse(String(date)))) if (!Number.isNaN(time)) return time
  return -Infinity
}
