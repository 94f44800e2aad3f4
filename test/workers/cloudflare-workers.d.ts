// The Workers runtime module the tests read their bindings from (provided by
// @cloudflare/vitest-plugin at run time). Typed here structurally, like R2Storage's bucket, so
// the tests need no Workers type package.
declare module 'cloudflare:workers' {
  import type { R2BucketLike } from 'snapshelf/r2'
  export const env: { SNAPSHOTS: R2BucketLike; S3_TEST_SERVER: string }
}
