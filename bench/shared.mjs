// What several benches share (s3, codec, and the Worker of workerd-cpu, which esbuild bundles with
// it): a Strands-shaped snapshot of a given size and the stubbed transports' pieces. Nothing here
// imports anything.

/**
 * A Strands-shaped snapshot whose JSON is about `bytes` long, with text that compresses like real chat.
 *
 * @example
 * const snapshot = snapshotOf(1024)
 */
export function snapshotOf(bytes) {
  const words = ['the', 'agent', 'called', 'a', 'tool', 'with', 'result', 'user', 'asked', 'about', 'weather', 'in', 'Paris', '42', 'ok']
  let text = ''
  for (let i = 0; text.length < bytes - 200; i++) text += words[(i * 7 + (i >> 3)) % words.length] + (i % 11 ? ' ' : '. ')
  return {
    scope: 'agent',
    schemaVersion: '1.0',
    createdAt: new Date().toISOString(),
    data: { messages: [{ role: 'user', content: [{ text }] }] },
    appData: {},
  }
}

/**
 * The S3 settings of the benches that stub the transport (s3 part 1, workerd-cpu): no server is
 * reached, so any credentials do; AWS's documented example keys.
 *
 * @example
 * new S3Storage({ ...STUB_S3, fetch: stub })
 */
export const STUB_S3 = {
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  bucket: 'snapshelf-bench',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
}

/** The ETag every stubbed transport answers with. */
export const STUB_ETAG = '"0123456789abcdef0123456789abcdef"'

/**
 * An AWS SDK v3 `requestHandler` that answers at once, from `objects`: a PUT whose `onRequest`
 * says to keep it stores `keep(body)` by path, a GET answers what is stored there. `asBody` makes
 * the response body the SDK's runtime reads (a Node `Readable` in Node, a web stream in workerd).
 * Shared by s3 part 1 and the workerd-cpu Worker.
 *
 * @example
 * sdkClient(STUB_S3, stubSdkHandler(new Map(), { onRequest: () => true, asBody: (b) => Readable.from([Buffer.from(b)]) }))
 */
export function stubSdkHandler(objects, { onRequest, asBody, keep = (body) => body }) {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    async handle(request) {
      if (onRequest(request) && request.method === 'PUT') objects.set(request.path, keep(request.body))
      const body = request.method === 'GET' ? objects.get(request.path) : new Uint8Array(0)
      return {
        response: {
          statusCode: 200,
          reason: 'OK',
          headers: { etag: STUB_ETAG, 'content-length': String(body.length) },
          body: asBody(body, request),
        },
      }
    },
  }
}
