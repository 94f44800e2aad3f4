import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { AuthError, newSnapshotId } from 'snapshelf'
import { HttpStorage } from 'snapshelf/http'
import { sampleSnapshot } from 'snapshelf/testing'

// examples/worker exactly as a person runs it: `npm start` (wrangler dev → real workerd, local R2
// under .data/), on a free port through PORT, then a round trip over real HTTP with HttpStorage.
const root = fileURLToPath(new URL('../..', import.meta.url))
let server: ChildProcess | undefined
let baseUrl = ''
let output = ''

/** A port nobody listens on right now (colleagues' servers and a developer's `npm start` included). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

beforeAll(async () => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  // Its own process group, so teardown stops npm, node, wrangler and every workerd it started.
  server = spawn('npm', ['start'], {
    cwd: root,
    env: { ...process.env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not print ${url} within 150 s:\n${output}`)), 150_000)
    const onData = (chunk: Buffer): void => {
      output += String(chunk)
      if (output.includes(`snapshelf example Worker: ${url}`)) {
        clearTimeout(timer)
        resolve()
      }
    }
    server!.stdout!.on('data', onData)
    server!.stderr!.on('data', (chunk: Buffer) => {
      output += String(chunk)
    })
    server!.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`npm start exited (${code}) before printing ${url}:\n${output}`))
    })
  })
  baseUrl = url
}, 180_000)

afterAll(async () => {
  const child = server
  if (!child?.pid || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(-child.pid, 'SIGTERM')
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }, 10_000)
  await exited
  clearTimeout(timer)
  // Any straggler of the group (workerd) gets the same end.
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // Nothing left: the group is empty.
  }
}, 30_000)

const storageFor = (token: string): HttpStorage =>
  new HttpStorage({ baseUrl: `${baseUrl}/api`, headers: { authorization: `Bearer ${token}` }, retries: 0 })

it('npm start serves the snapshot API: save, load, list, updateLatest over real HTTP', async () => {
  const alice = storageFor('alice-dev-token')
  const location = { sessionId: `alice-${newSnapshotId()}`, scope: 'agent', scopeId: 'main' }
  const first = newSnapshotId()
  const second = newSnapshotId()
  await alice.saveSnapshot({ location, snapshotId: first, isLatest: false, snapshot: sampleSnapshot('one') })
  await alice.commitSnapshot({ location, snapshotId: second, snapshot: sampleSnapshot('two', { turns: 0 }) })
  expect((await alice.loadSnapshot({ location }))?.appData.tag).toBe('two')
  expect((await alice.loadSnapshot({ location, snapshotId: first }))?.appData.tag).toBe('one')
  expect(await alice.listSnapshotIds({ location })).toEqual([first, second])
  const results = await Promise.all(
    Array.from({ length: 4 }, () =>
      alice.updateLatest({
        location,
        maxAttempts: 100,
        mutate: (cur) => ({ ...cur!, data: { ...cur!.data, turns: (cur!.data.turns as number) + 1 } }),
      }),
    ),
  )
  expect(results.every((r) => r.committed)).toBe(true)
  expect((await alice.loadSnapshot({ location }))?.data.turns).toBe(4)
  await alice.deleteSession({ sessionId: location.sessionId })
  expect(await alice.listSnapshotIds({ location })).toEqual([])
})

it('refuses a wrong token, a missing token and another user’s session with 403 (AuthError)', async () => {
  const location = { sessionId: `alice-${newSnapshotId()}`, scope: 'agent', scopeId: 'main' }
  await storageFor('alice-dev-token').commitSnapshot({
    location,
    snapshotId: newSnapshotId(),
    snapshot: sampleSnapshot('mine'),
  })
  for (const storage of [
    storageFor('wrong-token'),
    storageFor('bob-dev-token'),
    new HttpStorage({ baseUrl: `${baseUrl}/api`, retries: 0 }),
  ]) {
    const error = await storage.loadSnapshot({ location }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthError)
    expect((error as AuthError).status).toBe(403)
    await expect(
      storage.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('theirs') }),
    ).rejects.toBeInstanceOf(AuthError)
  }
  expect((await storageFor('alice-dev-token').loadSnapshot({ location }))?.appData.tag).toBe('mine')
  await storageFor('alice-dev-token').deleteSession({ sessionId: location.sessionId })
})

it('serves the static files of examples/browser next to the API', async () => {
  const page = await fetch(`${baseUrl}/`)
  expect(page.status).toBe(200)
  expect(page.headers.get('content-type')).toMatch(/text\/html/)
  expect(await page.text()).toMatch(/<html/i)
  const bad = await fetch(`${baseUrl}/api/objects/..%2f..%2fetc`)
  expect(bad.status).toBe(400)
})
