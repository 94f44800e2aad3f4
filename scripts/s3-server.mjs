#!/usr/bin/env node
// A real S3 for tests and benchmarks. `ensureS3` reuses the server named by S3_ENDPOINT (CI, your
// own MinIO, …) or, as root on Debian, boots the project's throwaway Ceph gateway
// (scripts/ceph-s3.sh), and makes sure the bucket exists. Used by test/setup/global-setup.ts and
// bench/s3.bench.mjs; as a CLI: `node scripts/s3-server.mjs up|down` prints S3_* env lines.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { AwsV4Signer } from 'aws4fetch'

const SCRIPT = fileURLToPath(new URL('./ceph-s3.sh', import.meta.url))
const DEFAULT_BUCKET = 'snapshelf-test'
let usingLocal = false
/** False for the CLI: a gateway started by hand is not a test run's, and stays up until `down`. */
let registerAsUser = true

/**
 * Finds or starts an S3 server and makes sure its bucket exists.
 * Returns `{ endpoint, region, accessKeyId, secretAccessKey, bucket, startedByUs }`, or `null`
 * (after a loud notice) when none is available and `required` is false; throws when `required`.
 *
 * @example
 * const s3 = await ensureS3({ required: process.env.CI === 'true' })
 * if (s3) console.log(`S3 at ${s3.endpoint}, bucket ${s3.bucket}`)
 */
export async function ensureS3({ required }) {
  const env = process.env
  let config
  if (env.S3_ENDPOINT) {
    config = {
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION || 'us-east-1',
      accessKeyId: env.S3_ACCESS_KEY ?? '',
      secretAccessKey: env.S3_SECRET_KEY ?? '',
      bucket: env.S3_BUCKET || DEFAULT_BUCKET,
      startedByUs: false,
    }
    if (!config.accessKeyId || !config.secretAccessKey)
      return unavailable(required, 'S3_ENDPOINT is set but S3_ACCESS_KEY / S3_SECRET_KEY are not')
  } else if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    const wasUp = await run(SCRIPT, ['status']).then(
      () => true,
      () => false,
    )
    let out
    try {
      // Registered as a user of the shared gateway, so a parallel run's teardown leaves it up.
      out = await run(SCRIPT, ['up'], {
        S3_BUCKET: env.S3_BUCKET || DEFAULT_BUCKET,
        ...(registerAsUser ? { CEPH_S3_USER: String(process.pid) } : {}),
      })
    } catch (error) {
      return unavailable(required, `scripts/ceph-s3.sh up failed: ${error.message}`)
    }
    const vars = Object.fromEntries(
      out
        .split('\n')
        .filter((l) => /^S3_[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    )
    config = {
      endpoint: vars.S3_ENDPOINT,
      region: vars.S3_REGION || 'us-east-1',
      accessKeyId: vars.S3_ACCESS_KEY,
      secretAccessKey: vars.S3_SECRET_KEY,
      bucket: vars.S3_BUCKET || DEFAULT_BUCKET,
      startedByUs: !wasUp,
    }
    usingLocal = registerAsUser
  } else {
    return unavailable(required, 'S3_ENDPOINT is not set and this is not root on Debian (cannot boot the Ceph gateway)')
  }
  try {
    await createBucket(config)
  } catch (error) {
    await stopS3()
    return unavailable(required, `bucket "${config.bucket}" at ${config.endpoint} is not usable: ${error.message}`)
  }
  return config
}

/**
 * Ends this process's use of the local Ceph gateway: it stops when no other run uses it and a test
 * run (not a person) booted it. `{ force: true }` stops it regardless. A no-op for S3_ENDPOINT servers.
 *
 * @example
 * await stopS3()
 */
export async function stopS3({ force = false } = {}) {
  if (force) await run(SCRIPT, ['down'])
  else if (usingLocal) await run(SCRIPT, ['release', String(process.pid)])
  usingLocal = false
}

function unavailable(required, why) {
  const banner = [
    '',
    '!'.repeat(78),
    `!!  NO S3 SERVER: ${why}`,
    '!!  S3 tests are SKIPPED (and `npm run bench` cannot run).',
    '!!  To run them: export S3_ENDPOINT=http://127.0.0.1:9000 S3_ACCESS_KEY=… S3_SECRET_KEY=…',
    '!!  [S3_REGION=us-east-1] [S3_BUCKET=snapshelf-test] for any S3-compatible server (MinIO, Ceph, …),',
    '!!  or run as root on Debian to let scripts/ceph-s3.sh install and boot a local Ceph gateway.',
    '!'.repeat(78),
    '',
  ].join('\n')
  if (required) throw new Error(`S3 is required (CI=true) but unavailable: ${why}`)
  console.warn(banner)
  return null
}

/** Creates the bucket with a signed PUT; owning it already (200 or 409 BucketAlreadyOwnedByYou) is fine. */
async function createBucket({ endpoint, region, accessKeyId, secretAccessKey, bucket }) {
  const url = `${endpoint.replace(/\/+$/, '')}/${bucket}`
  const body =
    region === 'us-east-1'
      ? undefined
      : `<CreateBucketConfiguration><LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`
  const signed = await new AwsV4Signer({ method: 'PUT', url, body, accessKeyId, secretAccessKey, region, service: 's3' }).sign()
  const res = await fetch(url, { method: 'PUT', headers: signed.headers, body, signal: AbortSignal.timeout(15_000) })
  const text = await res.text()
  if (res.ok || (res.status === 409 && text.includes('BucketAlreadyOwnedByYou'))) return
  throw new Error(`PUT bucket answered ${res.status} ${/<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? ''}`)
}

function run(file, args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...extraEnv }, timeout: 600_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message.split('\n')[0]}\n${stderr.split('\n').slice(-15).join('\n')}`))
      else resolve(stdout)
    })
  })
}

// CLI
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cmd = process.argv[2] ?? 'up'
  if (cmd === 'up') {
    registerAsUser = false
    const s3 = await ensureS3({ required: true })
    console.log(
      `S3_ENDPOINT=${s3.endpoint}\nS3_REGION=${s3.region}\nS3_ACCESS_KEY=${s3.accessKeyId}\nS3_SECRET_KEY=${s3.secretAccessKey}\nS3_BUCKET=${s3.bucket}`,
    )
  } else if (cmd === 'down') {
    await stopS3({ force: true })
  } else {
    console.error('usage: node scripts/s3-server.mjs up|down')
    process.exit(2)
  }
}
