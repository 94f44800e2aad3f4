import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import { HttpStorage } from 'snapshelf/http'
import { DEMO_PASSPHRASE, encryptionFor } from '../../examples/browser/passphrase.js'
// @ts-expect-error -- a plain .mjs helper shared with the other browser runners
import { chromiumArgs, chromiumHowTo, findChromium } from '../../scripts/chromium.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The example's demo token (examples/worker/wrangler.toml): sessions `alice-*`. */
export const TOKEN = 'alice-dev-token'

/** The page's default user (examples/browser: `?user=`): its key's salt. */
export const USER = 'alice'

/**
 * Starts `npm start` (scripts/start.mjs: builds examples/browser, runs the Worker in workerd) on
 * `port`, in its own process group so `stop()` ends wrangler and workerd with it. Its local R2 is
 * a fresh directory, removed by `stop()`: a catalogue (the page's conversation list) holds only
 * what this run wrote. `users` adds tokens to wrangler.toml's USERS (token → session patterns).
 */
export async function startServer(port: number, users: Record<string, string[]> = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const toml = await readFile(join(root, 'examples/worker/wrangler.toml'), 'utf8')
  const demoUsers = JSON.parse(/^USERS = '(.*)'$/m.exec(toml)![1]!) as Record<string, string[]>
  const data = await mkdtemp(join(tmpdir(), 'snapshelf-e2e-r2-'))
  const child: ChildProcess = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), EXAMPLE_DATA: data, EXAMPLE_USERS: JSON.stringify({ ...demoUsers, ...users }) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stdout!.on('data', (c) => (log += c))
  child.stderr!.on('data', (c) => (log += c))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    await end()
    await rm(data, { recursive: true, force: true })
  }
  const end = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const group = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // already gone
      }
    }
    group('SIGTERM')
    const timer = setTimeout(() => group('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${log}`)
    try {
      if ((await fetch(`${url}/`)).ok) return { url, stop }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`npm start did not answer on ${url} within 90 s:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Real Chromium (never a downloaded one), headless, with the project's flags. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium()
  if (!executablePath) throw new Error(`no Chromium: ${chromiumHowTo}`)
  return chromium.launch({ executablePath, args: chromiumArgs, headless: true })
}

/**
 * Another device: a Chromium of its own on a fresh profile (a new user-data-dir: no IndexedDB,
 * no service worker, no cache). `close()` ends it and removes the profile.
 */
export async function freshProfile(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const executablePath = findChromium()
  if (!executablePath) throw new Error(`no Chromium: ${chromiumHowTo}`)
  const dir = await mkdtemp(join(tmpdir(), 'snapshelf-e2e-profile-'))
  const context = await chromium.launchPersistentContext(dir, { executablePath, args: chromiumArgs, headless: true })
  return {
    context,
    close: async () => {
      await context.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * What R2 holds, read through the Worker's API with the demo token (not through the page), with
 * no key: listings (ids, keys) and the stored bytes as they are, sealed.
 */
export function workerApi(url: string, token = TOKEN): HttpStorage {
  return new HttpStorage({ baseUrl: `${url}/api`, headers: { authorization: `Bearer ${token}` }, retries: 2 })
}

const keys = new Map<string, ReturnType<typeof encryptionFor>>()

/**
 * The Worker's API read as another device of the user would: with the key the page derives
 * (examples/browser/passphrase.ts) from `passphrase` for `user`, so snapshots open. One
 * derivation per user and passphrase (PBKDF2, ~0.2 s).
 */
export async function openedApi(
  url: string,
  { passphrase = DEMO_PASSPHRASE, user = USER, token = TOKEN }: { passphrase?: string; user?: string; token?: string } = {},
): Promise<HttpStorage> {
  const id = `${user}\n${passphrase}`
  if (!keys.has(id)) keys.set(id, encryptionFor(passphrase, user))
  return new HttpStorage({
    baseUrl: `${url}/api`,
    headers: { authorization: `Bearer ${token}` },
    retries: 2,
    encryption: await keys.get(id)!,
  })
}

/** A session id nobody else uses, allowed by the demo token. */
export function uniqueSession(tag: string): string {
  return `alice-e2e-${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}
