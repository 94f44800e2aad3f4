import type { SessionStore } from 'genkit/beta'
import { genkit } from 'genkit/beta'
import { genkitPlugin } from 'genkit/plugin'

/**
 * A real Genkit agent (genkit/beta `defineAgent`) over a given store, with a small custom model
 * plugin and no network: the model `fake/echo` answers `echo <n>: <last user text>`, counting its
 * calls; a user text of `wait` holds the turn until the request's abort signal fires (a detached
 * turn that only an abort ends). Runtime neutral.
 *
 * @example
 * const { agent, runTurn } = genkitAgent(store)
 * const out = await runTurn({ sessionId: 'chat-1' }, 'hello')
 */
export function genkitAgent(store: SessionStore, name = 'chat') {
  const seen = { calls: 0, aborted: 0, waiting: 0 }
  const fakeModels = genkitPlugin('fake', async (ai) => {
    // apiVersion v2: the model gets the action context, whose abortSignal is the agent's.
    ai.defineModel({ name: 'fake/echo', apiVersion: 'v2' }, async (request, context) => {
      seen.calls++
      const last = request.messages.filter((m) => m.role === 'user').at(-1)
      const text = last?.content.map((p) => p.text ?? '').join('') ?? ''
      if (text === 'wait') {
        seen.waiting++
        const signal = context.abortSignal
        await new Promise<void>((_resolve, reject) => {
          const onAbort = (): void => {
            seen.aborted++
            reject(new Error('aborted by the store'))
          }
          if (signal?.aborted) onAbort()
          signal?.addEventListener('abort', onAbort, { once: true })
        })
      }
      return { message: { role: 'model', content: [{ text: `echo ${seen.calls}: ${text}` }] }, finishReason: 'stop' }
    })
  })
  const ai = genkit({ plugins: [fakeModels] })
  const agent = ai.defineAgent({ name, model: 'fake/echo', system: 'You echo.', store })
  /** One turn: `init` names the session or snapshot to resume; resolves the agent's output. */
  const runTurn = async (init: { sessionId?: string; snapshotId?: string }, text: string, detach = false) => {
    const bidi = agent.streamBidi(init)
    bidi.send({ message: { role: 'user', content: [{ text }] }, ...(detach && { detach: true }) })
    bidi.close()
    return bidi.output
  }
  return { ai, agent, runTurn, seen }
}
