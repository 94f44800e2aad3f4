import { S3Backend } from 'snapshelf/s3'

/**
 * The page of the S3-in-Chromium test (test/node/s3-chromium.test.ts): bundled with esbuild, it
 * runs S3Backend on Chromium's own fetch, driven through `window.s3`. Errors come back as plain
 * data (what crosses to the test), with their whole text for leak checks.
 */
const s3 = {
  /** `backend.get(key)` against `endpoint`: the value read, or the error thrown. */
  async get(endpoint: string, key: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
    const backend = new S3Backend({ bucket: 'snapshelf-test', endpoint, retries: 0, ...credentials })
    try {
      const found = await backend.get(key)
      return { found: found && { etag: found.etag, size: found.body.length } }
    } catch (e) {
      const error = e as Error & { code?: string; status?: number; cause?: unknown }
      return {
        error: {
          code: error.code,
          status: error.status,
          message: error.message,
          everything: `${error.stack} ${JSON.stringify(error)} ${String(error.cause)}`,
        },
      }
    }
  },
}

declare global {
  interface Window {
    s3: typeof s3
  }
}
window.s3 = s3
