import { env } from 'cloudflare:workers'

/**
 * The real S3 server (Ceph) test/setup/global-setup.ts found or booted, handed to workerd as the
 * `S3_TEST_SERVER` binding; `null` when there is none (locally only: in CI the setup fails first).
 *
 * @example
 * const storage = new S3Storage({ ...s3Server!, prefix: 'mine' })
 */
export const s3Server = JSON.parse((env as unknown as { S3_TEST_SERVER: string }).S3_TEST_SERVER) as {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  bucket: string
} | null
