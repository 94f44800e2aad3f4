import { type Backend, RemoteError } from 'snapshelf'

/**
 * A remote link that can drop: every call fails as a lost network does (a `RemoteError` with
 * status 0, which the tiered store treats as offline) while `state.offline` is true. The fault is
 * one a real server cannot be made to produce on demand, so it sits in front of a real backend.
 *
 * @example
 * const remote = link(new MemoryBackend())
 * remote.state.offline = true // the next sync finds the remote unreachable
 */
export function link(inner: Backend): { backend: Backend; prefix: string; state: { offline: boolean } } {
  const state = { offline: false }
  const gate =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (state.offline) throw new RemoteError('network error (offline)', { status: 0 })
      return f(...a)
    }
  const backend: Backend = {
    get: gate(inner.get.bind(inner)),
    head: gate(inner.head.bind(inner)),
    put: gate(inner.put.bind(inner)),
    delete: gate(inner.delete.bind(inner)),
    list: gate(inner.list.bind(inner)),
  }
  return { backend, prefix: '', state }
}
