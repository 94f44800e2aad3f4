import { sealedKeyId } from './encryption.js'
import { ValidationError } from './errors.js'
import { checkPrefix } from './ids.js'
import { joinPrefix } from './keys.js'
import { listAll } from './listing.js'
import { type StorageTarget, adapterTarget } from './target.js'

/**
 * Key rotation's second half: after a new key was added and `writeKeyId` moved to it (old objects
 * stay readable meanwhile), `reencrypt` moves every sealed object to the new key so the old one
 * can be dropped. Byte-level (opened and sealed again, never decoded), so it covers snapshots,
 * manifests and every adapter's keys alike; a standalone function, so no storage's bundle pays
 * for it unless it is imported.
 */

/**
 * What `reencrypt` did.
 *
 * @example
 * const { reencrypted, current, plaintext } = await reencrypt({ storage })
 */
export interface ReencryptResult {
  /** Objects sealed with another key id, now sealed with `writeKeyId`. */
  reencrypted: number
  /** Objects already sealed with `writeKeyId`, left as they are. */
  current: number
  /**
   * Keys of objects that are not encrypted, left as they are: a tiered local tier's `.snapshelf/`
   * bookkeeping and tombstones are plaintext by design; a snapshot listed here was written before
   * encryption was turned on (read it with a storage without encryption and save it again).
   */
  plaintext: string[]
}

/**
 * Re-seals every object under `storage` (or under `folder` of it, e.g. one session: `'s1'`) that
 * is sealed with a key id other than the storage's `writeKeyId`, in place, by compare-and-swap (a
 * write racing it is re-read, never overwritten). Every key id found must still be in `keys`.
 * Run it on the storage that holds the bytes: for a `TieredStorage`, on each tier's own storage
 * (the remote's, with the same keys, and the local one) rather than through the tiered store, whose
 * sync treats history as write-once.
 *
 * @example
 * import { reencrypt } from 'snapshelf'
 * const storage = new S3Storage({ ...s3, encryption: { keys: { k1, k2 }, writeKeyId: 'k2' } })
 * const { reencrypted } = await reencrypt({ storage })
 * // Every object is now sealed with k2: k1 can be dropped from `keys`.
 */
export async function reencrypt(p: { storage: StorageTarget; folder?: string; signal?: AbortSignal }): Promise<ReencryptResult> {
  const { backend, root, sealer } = adapterTarget(p?.storage)
  if (!sealer) throw new ValidationError('storage.encryption', 'is required')
  if ('local' in backend && 'remote' in backend) throw new ValidationError('storage', "must be one tier's own storage, not a TieredStorage")
  const writeKeyId = p.storage.encryption!.writeKeyId
  const result: ReencryptResult = { reencrypted: 0, current: 0, plaintext: [] }
  const { signal } = p
  for (const { key } of await listAll(backend, root + (p.folder === undefined ? '' : joinPrefix(checkPrefix(p.folder))), { signal })) {
    for (;;) {
      const found = await backend.get(key, { signal })
      if (!found) break
      const id = sealedKeyId(found.body)
      if (id === undefined) result.plaintext.push(key)
      else if (id === writeKeyId) result.current++
      else if (!(await backend.put(key, await sealer.seal(await sealer.open(found.body, key), key), { ifMatch: found.etag, signal })))
        continue
      else result.reencrypted++
      break
    }
  }
  return result
}
