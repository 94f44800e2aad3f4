/**
 * The local-first example: an agent-style conversation whose state is snapshotted on every
 * message into TieredStorage(IndexedDB → HttpStorage('/api') → the Worker → R2). It keeps working
 * offline (writes land in IndexedDB and its outbox; the service worker sw.js serves the page
 * itself, so an offline reload or a new offline tab works too), syncs when the browser comes back online,
 * and shows online/offline, what failed and why, pending writes, last sync, the history, and
 * restore of any snapshot.
 * `window.app` exposes the pieces for the end-to-end test (test/e2e/).
 */
import { AuthError, newSnapshotId, SnapshelfError, type Snapshot, type SnapshotLocation } from 'snapshelf'
import { HttpStorage } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { TieredStorage, type TieredStatus } from 'snapshelf/tiered'

type Message = { role: 'user' | 'assistant'; text: string }

// The shell cache (sw.js): the page, and the conversation from IndexedDB, load with no network.
const shellReady: Promise<unknown> =
  'serviceWorker' in navigator
    ? navigator.serviceWorker.register('./sw.js').then(
        () => navigator.serviceWorker.ready,
        (error: unknown) => console.warn('no offline shell (service worker not registered):', error),
      )
    : Promise.resolve()

const params = new URLSearchParams(location.search)
// The Worker authorizes with a bearer token; a real app gets one from its login flow.
const token = params.get('token') ?? localStorage.getItem('snapshelf-token') ?? 'alice-dev-token'
const sessionId = params.get('session') ?? 'alice-demo'
const where: SnapshotLocation = { sessionId, scope: 'agent', scopeId: 'chat' }
const dbName = params.get('db') ?? 'snapshelf-example'

const local = new IndexedDBStorage({ dbName })
const remote = new HttpStorage({ baseUrl: '/api', headers: () => ({ authorization: `Bearer ${token}` }), retries: 2, timeoutMs: 10_000 })
const storage = new TieredStorage({ local, remote, name: dbName, autoSyncDelayMs: 250 })

const $ = <E extends HTMLElement>(id: string) => document.getElementById(id) as E
/** What the last action (a send, a restore, the start-up load) failed with, until one succeeds or a sync does. */
let actionProblem: { badge: string; text: string } | undefined
let status: TieredStatus | undefined
let messages: Message[] = []
/** `createdAt` of the snapshot `messages` came from or went into (see `adopt`). */
let heldAt = ''

function snapshotOf(list: Message[]): Snapshot {
  heldAt = new Date().toISOString()
  return { scope: 'agent', schemaVersion: '1.0', createdAt: heldAt, data: { messages: list }, appData: { count: list.length } }
}

/**
 * Takes a stored snapshot as the conversation unless it is older than what this tab holds. A
 * watch event can arrive while this tab's own next write is in flight (it may even be the echo
 * of this tab's previous write): adopting it would roll `messages` back, and the next message
 * would be appended to the older list, silently dropping one.
 */
function adopt(snapshot: Snapshot | null): void {
  const list = (snapshot?.data.messages as Message[] | undefined) ?? []
  if (snapshot && (snapshot.createdAt < heldAt || (snapshot.createdAt === heldAt && list.length <= messages.length))) return
  messages = list
  heldAt = snapshot?.createdAt ?? ''
  render()
}

/** Appends one message and snapshots the whole conversation (history + latest). */
async function addMessage(message: Message): Promise<string> {
  messages = [...messages, message]
  const snapshotId = newSnapshotId()
  await storage.commitSnapshot({ location: where, snapshotId, snapshot: snapshotOf(messages) })
  actionProblem = undefined
  render()
  return snapshotId
}

/** A stand-in agent: answers at once, deterministically, so it works offline too. */
function reply(text: string): Message {
  return { role: 'assistant', text: `You said ${text.length} characters: “${text.slice(0, 40)}”.` }
}

async function send(text: string, withReply = true): Promise<void> {
  await addMessage({ role: 'user', text })
  if (withReply) await addMessage(reply(text))
}

/** Makes an older snapshot the current conversation, as a new snapshot (history stays append-only). */
async function restore(snapshotId: string): Promise<void> {
  const old = await storage.loadSnapshot({ location: where, snapshotId })
  if (!old) return
  messages = (old.data.messages as Message[]) ?? []
  await storage.commitSnapshot({ location: where, snapshotId: newSnapshotId(), snapshot: snapshotOf(messages) })
  render()
}

function render(): void {
  const list = $('messages')
  list.replaceChildren(
    ...messages.map((m) => {
      const li = document.createElement('li')
      li.className = m.role
      li.textContent = m.text
      return li
    }),
  )
  list.scrollTop = list.scrollHeight
  void renderHistory()
}

async function renderHistory(): Promise<void> {
  const items = []
  let startAfter: string | undefined
  do {
    const page = await storage.listSnapshots({ location: where, startAfter, limit: 500 })
    items.push(...page.items)
    startAfter = page.nextStartAfter
  } while (startAfter)
  $('history-count').textContent = String(items.length)
  $('history').replaceChildren(
    ...items.reverse().map((item) => {
      const li = document.createElement('li')
      li.dataset.snapshotId = item.snapshotId
      const label = document.createElement('span')
      label.innerHTML = `${item.createdAt.toLocaleTimeString()} · ${item.storedBytes} B<br><code></code>`
      label.querySelector('code')!.textContent = item.snapshotId
      const button = document.createElement('button')
      button.textContent = 'Restore'
      button.onclick = () => void restore(item.snapshotId).catch(showProblem)
      li.append(label, button)
      return li
    }),
  )
}

/** The HTTP status of a snapshelf error, when the remote answered. */
function statusOf(error: unknown): number | undefined {
  return error instanceof SnapshelfError && typeof error.status === 'number' && error.status > 0 ? error.status : undefined
}

/**
 * A failure in plain words. Never the error's own message: a storage error names the key it
 * failed on (`alice-demo/scopes/agent/chat/snapshots/…`), which means nothing to a user.
 */
function describe(error: unknown): { badge: string; text: string } {
  const kept = 'Your messages are kept on this device and will sync once this is fixed.'
  const code = statusOf(error)
  if (error instanceof AuthError || code === 401 || code === 403) {
    return code === 401
      ? { badge: 'not signed in', text: `The server did not accept the sign-in token (401). Check ?token= in the address. ${kept}` }
      : {
          badge: 'access refused',
          text: `The server refused this token access to session “${sessionId}” (403): a wrong ?token=, or a session of another user. ${kept}`,
        }
  }
  if (code !== undefined && (code >= 500 || code === 408 || code === 429)) {
    return {
      badge: 'server error',
      text: `The server failed (HTTP ${code}); the next sync tries again. Your messages are kept on this device.`,
    }
  }
  if (code === undefined && error instanceof SnapshelfError && (error.code === 'ERR_REMOTE' || error.code === 'ERR_TIMEOUT')) {
    return {
      badge: 'offline',
      text: 'The server cannot be reached (offline). Your messages are saved on this device and sync when the connection is back.',
    }
  }
  const name = error instanceof SnapshelfError ? error.code : error instanceof Error ? error.name : 'error'
  return { badge: 'sync failed', text: `Something failed (${name}${code ? `, HTTP ${code}` : ''}). ${kept}` }
}

/** What the sync status says is wrong, or nothing: a failed sync, a failed read-through, offline. */
function syncProblem(s: TieredStatus): { badge: string; text: string } | undefined {
  if (s.lastError) return describe(s.lastError)
  if (!s.online) return { badge: 'offline', text: 'Offline: your messages are saved on this device and sync when the connection is back.' }
  if (s.conflicts.length)
    return { badge: 'conflict', text: `${s.conflicts.length} snapshot(s) differ from the server's copy and stay unsynced.` }
  return undefined
}

/** Shows the one problem that matters most: the sync's, then the last action's. */
function renderProblem(): void {
  const problem = (status && syncProblem(status)?.text) ?? actionProblem?.text
  $('error').textContent = problem ?? ''
  $('error').hidden = !problem
}

function renderStatus(s: TieredStatus): void {
  const previous = status
  status = s
  // A sync that went through clears what an earlier action failed with (the server is fine now).
  if (previous && s.lastSyncAt !== previous.lastSyncAt && !s.lastError) actionProblem = undefined
  const problem = syncProblem(s) ?? actionProblem
  const badge = $('online')
  badge.dataset.online = String(s.online && !problem)
  // Never "online" while syncs fail: the badge names the failure.
  badge.textContent = s.syncing ? 'syncing…' : (problem?.badge ?? 'online')
  $('pending').textContent = String(s.pending)
  $('last-sync').textContent = s.lastSyncAt ? s.lastSyncAt.toLocaleTimeString() : 'never'
  renderProblem()
}

function showProblem(error: unknown): void {
  console.error(error)
  actionProblem = describe(error)
  if (status) renderStatus(status)
  else renderProblem()
}

async function loadLatest(): Promise<void> {
  heldAt = '' // an explicit load (start-up, after a sync) takes whatever is stored
  adopt(await storage.loadSnapshot({ location: where }))
}

storage.onStatus(renderStatus)
renderStatus(storage.status)
// Another tab (or a sync) changed latest: show it.
storage.watchLatest({ location: where, onChange: adopt })

$('composer').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = $<HTMLInputElement>('text')
  const text = input.value.trim()
  input.value = ''
  if (text) send(text).catch(showProblem)
})
$('sync').addEventListener('click', () => void storage.sync().then(() => loadLatest(), showProblem))
addEventListener('pagehide', () => storage.close())

const ready = (async () => {
  // Local first: what this device holds shows even when the server refuses or is gone.
  await loadLatest().catch(showProblem)
  if (navigator.onLine) {
    // Bring down what other devices wrote, then push what this one queued. Failures land in the
    // status (shown by renderStatus). A refused or failed hydrate would fail the sync the same
    // way; and a sync with nothing to do would "succeed" without asking the server, clearing the
    // error it just showed.
    if (
      await storage.hydrate({ location: where }).then(
        () => true,
        () => false,
      )
    )
      await storage.sync().catch(() => {})
    await loadLatest().catch(showProblem)
  }
})()

declare global {
  interface Window {
    app: unknown
  }
}
window.app = { storage, location: where, send, addMessage, restore, loadLatest, ready, shellReady, messages: () => messages }
