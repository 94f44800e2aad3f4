// Names the README's snippets leave to the reader's own app.
import type { Snapshot, SnapshotStore } from 'snapshelf'
import type { R2BucketLike } from 'snapshelf/r2'

declare global {
  const token: string
  const snapshot: Snapshot
  // `location` is the DOM's own global: snippets declare theirs.
  const storage: SnapshotStore
  const env: { SNAPSHOTS: R2BucketLike }
  const accessKeyId: string
  const secretAccessKey: string
  const sessionToken: string
  const endpoint: string
  const ACCOUNT_ID: string
  function render(...values: unknown[]): void
  function bar(done: number, total: number): void
  function getToken(): string
  function userOf(request: Request): Promise<{ owns(sessionId: string): boolean } | undefined>
  const Deno: { env: { get(name: string): string | undefined } }
}
