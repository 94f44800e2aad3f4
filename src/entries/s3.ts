/**
 * `snapshelf/s3`: snapshots in any S3-compatible bucket (AWS S3, Cloudflare R2's S3 API, Ceph,
 * MinIO) over `fetch`, signed by aws4fetch. No AWS SDK: the whole tier with the core is a few KB.
 */
import { S3Backend, type S3BackendOptions } from '../backends/s3/backend.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, StoreOptions } from '../core/types.js'

export { S3Backend, type S3BackendOptions } from '../backends/s3/backend.js'

/**
 * Options of `S3Storage`: the bucket connection plus the options every storage takes
 * (`prefix`, `compression`, `maxDecodedBytes`).
 *
 * @example
 * const options: S3StorageOptions = {
 *   bucket: 'agent-sessions', endpoint: 'https://<account-id>.r2.cloudflarestorage.com', region: 'auto',
 *   accessKeyId: env.R2_ACCESS_KEY_ID, secretAccessKey: env.R2_SECRET_ACCESS_KEY, prefix: 'prod',
 * }
 */
export interface S3StorageOptions extends S3BackendOptions, StoreOptions {}

/**
 * Snapshots in an S3-compatible bucket, in the Strands Agents key layout. History objects are
 * created once (`If-None-Match: *`), `snapshot_latest.json` moves by compare-and-swap on its
 * ETag (`If-Match`), listings push `start-after`/`max-keys` down to ListObjectsV2, and
 * `deleteSession` uses DeleteObjects batches of 1000. Retries network errors, 429 and 5xx with
 * jittered backoff; every attempt has a timeout; every call takes an `AbortSignal`.
 *
 * @example
 * import { S3Storage } from 'snapshelf/s3'
 * import { newSnapshotId } from 'snapshelf'
 *
 * // AWS S3 (virtual-hosted style, region from the config)
 * const storage = new S3Storage({
 *   bucket: 'agent-sessions', region: 'eu-west-1',
 *   accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
 * })
 * // Ceph / MinIO (path style): new S3Storage({ bucket, endpoint: 'http://127.0.0.1:7480', accessKeyId, secretAccessKey })
 *
 * const location = { sessionId: 'session-42', scope: 'agent', scopeId: 'planner' }
 * await storage.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot })
 * const latest = await storage.loadSnapshot({ location })
 */
export class S3Storage<T = Snapshot> extends BackendSnapshotStore<T> {
  declare readonly backend: S3Backend

  constructor(options: S3StorageOptions) {
    super({ ...options, backend: new S3Backend(options) })
  }
}
