// The example's service worker: it caches the app shell (the page and its bundle; the styles are
// inline in the page) so a reload or a new tab works with no network at all, and the
// conversation comes from IndexedDB. Served from the site root (/sw.js) so its scope is the
// whole page. Plain JavaScript: the browser loads it as is, no bundling step.
//
// Network first, cache as fallback: online, every load takes the current files (a rebuilt
// bundle shows up at once, no stale shell to explain); offline, the last copy that loaded. The
// snapshot API (/api) is never cached nor even intercepted: its answers are the data, and a
// cached answer would show old data as current and hide that the server is unreachable.
//
// Bump VERSION when the list of shell files changes: `activate` drops every older shell cache.

const VERSION = 'v1'
const PREFIX = 'snapshelf-shell-'
const CACHE = `${PREFIX}${VERSION}`
/** The shell, relative to this file: the page (served at the directory) and its script. */
const SHELL = ['./', './dist/app.js']
/** A response the cache answered carries this header, so a test can tell it from the network's. */
const FROM_CACHE = 'x-snapshelf-shell'

self.addEventListener('install', (event) => {
  // Active only once the whole shell is cached: a half-cached shell would fail offline anyway.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name)
      // Take over the page that registered us, so it works offline without a second load.
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const key = shellKey(event.request)
  if (key) event.respondWith(networkFirst(event.request, key))
  // Anything else (the API above all) goes to the network untouched.
})

/**
 * The cache key of a shell request, or undefined. The page is one entry whatever its query
 * (`?session=…`); any other file (the README, a source map) is left to the network, so its answer
 * can never be stored as the page.
 */
function shellKey(request) {
  if (request.method !== 'GET') return undefined
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return undefined
  const base = new URL(self.registration.scope).pathname
  if (url.pathname === base || url.pathname === `${base}index.html`) return new URL(base, url).href
  return SHELL.map((path) => new URL(path, self.registration.scope).href).find((href) => href === url.origin + url.pathname)
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE)
  try {
    const response = await fetch(request)
    // Only a good answer replaces the copy: a 404 or 500 must not become the offline page.
    if (response.ok) await cache.put(key, response.clone())
    return response
  } catch (error) {
    const cached = await cache.match(key)
    if (!cached) throw error
    const headers = new Headers(cached.headers)
    headers.set(FROM_CACHE, 'cache')
    return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers })
  }
}
