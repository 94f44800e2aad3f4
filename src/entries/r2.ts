/**
 * `snapshelf/r2`: snapshots in Cloudflare R2 through a Worker's bucket binding. No credentials,
 * no signing, no runtime dependency on any Workers package. Outside a Worker (or from a browser
 * without a Worker) use `S3Storage` against R2's S3 API, or `HttpStorage` against a Worker.
 */
import { R2Backend, type R2BucketLike } from '../backends/r2.js'
import { ValidationError } from '../core/errors.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, StoreOptions } from '../core/types.js'

export { R2Backend, type R2BucketLike, type R2ObjectBodyLike, type R2ObjectLike } from '../backends/r2.js'

/**
 * Options of `R2Storage`: the bucket binding plus the options every storage takes.
 *
 * @example
 * const options: R2StorageOptions = { bucket: env.SNAPSHOTS, prefix: 'agents' }
 */
export interface R2StorageOptions extends StoreOptions {
  /** The R2 bucket binding, e.g. `env.SNAPSHOTS` (an `r2_buckets` entry in wrangler.toml). */
  bucket: R2BucketLike
}

/**
 * The whole `SnapshotStore` contract over an R2 bucket binding. Compare-and-swap of the latest
 * snapshot uses R2's `onlyIf` conditional puts; history objects are create-only.
 *
 * @example
 * import { R2Storage } from 'snapshelf/r2'
 * export default {
 *   async fetch(request: Request, env: { SNAPSHOTS: R2BucketLike }) {
 *     const storage = new R2Storage({ bucket: env.SNAPSHOTS })
 *     const latest = await storage.loadSnapshot({ location: { sessionId: 's1', scope: 'agent', scopeId: 'main' } })
 *     return Response.json(latest)
 *   },
 * }
 */
export class R2Storage<T = Snapshot> extends BackendSnapshotStore<T> {
  constructor(options: R2StorageOptions) {
    const bucket = options?.bucket
    if (!bucket || typeof bucket.get !== 'function' || typeof bucket.put !== 'function' || typeof bucket.list !== 'function') {
      throw new ValidationError('bucket', 'must be an R2 bucket binding (env.<BINDING>)')
    }
    super({ ...options, backend: new R2Backend(bucket) })
  }
}
