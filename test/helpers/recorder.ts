import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A throwaway HTTP server that records every request it receives (method, path, headers) and
 * answers 404, with permissive CORS so a browser would send it anything: the "other host" a
 * redirect points at, to prove that nothing of ours ever arrives there.
 */

/** One request the recorder received. */
export interface RecordedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
}

/**
 * A running recorder.
 *
 * @example
 * const elsewhere = await startRecorder()
 * // …point a redirect at elsewhere.url…
 * expect(elsewhere.requests).toEqual([])
 * await elsewhere.close()
 */
export interface Recorder {
  url: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

/**
 * Starts a recorder on 127.0.0.1, on a random port.
 *
 * @example
 * const elsewhere = await startRecorder()
 */
export async function startRecorder(): Promise<Recorder> {
  const requests: RecordedRequest[] = []
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    req.resume()
    res.writeHead(req.method === 'OPTIONS' ? 204 : 404, {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': '*',
      'access-control-allow-headers': '*',
      'access-control-expose-headers': '*',
    })
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
