import type { TestProject } from 'vitest/node'
// @ts-expect-error: a plain .mjs script shared with the bench and CI; it has no type declarations.
import { ensureS3, stopS3 } from '../../scripts/s3-server.mjs'

/** What S3 tests receive through `inject('s3')`: connection settings, or `null` when unavailable. */
export interface S3TestServer {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  bucket: string
  startedByUs: boolean
}

declare module 'vitest' {
  interface ProvidedContext {
    s3: S3TestServer | null
  }
}

/**
 * Node suites' global setup: finds or boots a real S3 (S3_ENDPOINT, else the project's Ceph
 * gateway when root on Debian), hands it to tests via `inject('s3')` and `process.env.S3_*`. At
 * teardown the run releases the gateway: it stops only if a test run booted it and no other run
 * (parallel vitest processes share it) still uses it. In CI (`CI=true`) a missing S3 fails the
 * run; locally the S3 tests skip with a banner.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const s3 = (await ensureS3({ required: process.env.CI === 'true' })) as S3TestServer | null
  project.provide('s3', s3)
  if (s3) {
    Object.assign(process.env, {
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY: s3.accessKeyId,
      S3_SECRET_KEY: s3.secretAccessKey,
      S3_BUCKET: s3.bucket,
    })
  }
  return async () => {
    if (s3) await stopS3()
  }
}
