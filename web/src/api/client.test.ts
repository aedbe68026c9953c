// The API client against a real HTTP server (node:http) that answers like the gateway does.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, ApiError, newIdempotencyKey, queryString } from './client'

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }
const seen: Seen[] = []
async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise
  } catch (error) {
    return error as ApiError
  }
  throw new Error('expected the call to fail')
}
let server: Server
let base = ''

function reply(res: import('node:http').ServerResponse, status: number, payload: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(payload))
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      const path = req.url!.split('?')[0]
      if (path === '/api/v1/customers' && req.method === 'POST') {
        return reply(res, 409, {
          error: {
            code: 'duplicate_customer',
            message: 'already entered by Zhang San',
            details: { customer_id: 7, owner: '张三', matched_on: ['name'] },
          },
        })
      }
      if (path === '/api/v1/users' && req.method === 'POST') {
        return reply(res, 400, {
          error: { code: 'validation_error', message: 'some fields are invalid', details: { username: ['Missing data for required field.'] } },
        })
      }
      if (path === '/api/v1/me') return reply(res, 401, { error: { code: 'invalid_token', message: 'the token has expired; log in again', details: null } })
      if (path === '/api/v1/broken') {
        res.writeHead(502, { 'Content-Type': 'text/html' })
        return res.end('<html>bad gateway</html>')
      }
      if (path === '/api/v1/weird') return reply(res, 409, { error: { code: 'brand_new_rule', message: 'x', details: null } })
      const json = req.headers['content-type'] === 'application/json'
      return reply(res, 200, { ok: true, echo: body && json ? JSON.parse(body) : body || null })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  base = `http://127.0.0.1:${address.port}/api/v1`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('ApiClient', () => {
  it('sends the bearer token and JSON, and returns the parsed answer', async () => {
    const client = new ApiClient({ baseUrl: base, getToken: () => 'tok-1' })
    const answer = await client.post<{ echo: unknown }>('/reminders', { title: '回访' })
    expect(answer.echo).toEqual({ title: '回访' })
    const last = seen.at(-1)!
    expect(last.headers.authorization).toBe('Bearer tok-1')
    expect(last.headers['content-type']).toBe('application/json')
  })

  it('puts an Idempotency-Key on every write and none on reads', async () => {
    const client = new ApiClient({ baseUrl: base })
    await client.get('/reminders')
    expect(seen.at(-1)!.headers['idempotency-key']).toBeUndefined()
    await client.post('/reminders', { a: 1 })
    const first = seen.at(-1)!.headers['idempotency-key']
    await client.post('/reminders', { a: 1 })
    const second = seen.at(-1)!.headers['idempotency-key']
    expect(first).toMatch(/^[0-9a-f-]{36}$/)
    expect(second).not.toBe(first)
  })

  it('sends the same key again when a submission is retried with it', async () => {
    const client = new ApiClient({ baseUrl: base })
    const key = newIdempotencyKey()
    await client.post('/reminders', {}, { idempotencyKey: key })
    await client.post('/reminders', {}, { idempotencyKey: key })
    expect(seen.at(-1)!.headers['idempotency-key']).toBe(key)
    expect(seen.at(-2)!.headers['idempotency-key']).toBe(key)
  })

  it('turns the error body into a Chinese message with the code and details', async () => {
    const client = new ApiClient({ baseUrl: base })
    const error = await rejection(client.post('/customers', { name: 'x' }))
    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(409)
    expect(error.code).toBe('duplicate_customer')
    expect(error.message).toBe('客户已存在，不能重复录入')
    expect(error.details).toEqual({ customer_id: 7, owner: '张三', matched_on: ['name'] })
    expect(error.serverMessage).toBe('already entered by Zhang San')
  })

  it('gives field errors in Chinese beside their fields', async () => {
    const client = new ApiClient({ baseUrl: base })
    const error = await rejection(client.post('/users', {}))
    expect(error.message).toBe('填写的内容有误，请检查标出的字段')
    expect(error.fieldErrors.username).toContain('必填')
  })

  it('calls the unauthorized handler on a 401 (expired token)', async () => {
    const expired: ApiError[] = []
    const client = new ApiClient({ baseUrl: base, getToken: () => 'old', onUnauthorized: (e) => expired.push(e) })
    const error = await rejection(client.get('/me'))
    expect(error.message).toBe('登录已过期，请重新登录')
    expect(expired).toHaveLength(1)
    expect(expired[0].code).toBe('invalid_token')
  })

  it('falls back to the HTTP status for a body that is not ours, or a code it does not know', async () => {
    const client = new ApiClient({ baseUrl: base })
    const broken = await rejection(client.get('/broken'))
    expect(broken.status).toBe(502)
    expect(broken.message).toBe('服务暂时不可用，请稍后再试')
    const weird = await rejection(client.get('/weird'))
    expect(weird.message).toBe('操作与当前状态冲突')
  })

  it('says the network failed when nothing answers', async () => {
    const client = new ApiClient({ baseUrl: 'http://127.0.0.1:9/api/v1' })
    const error = await rejection(client.get('/me'))
    expect(error.code).toBe('network_error')
    expect(error.message).toBe('网络连接失败，请检查网络后重试')
  })

  it('leaves empty query values out', () => {
    expect(queryString({ q: '华为', status: '', owner: undefined, page: 2 })).toBe(`?q=${encodeURIComponent('华为')}&page=2`)
    expect(queryString({})).toBe('')
  })

  it('sends a raw CSV body with its content type', async () => {
    const client = new ApiClient({ baseUrl: base })
    await client.request('POST', '/customers/import', { raw: 'name,phone\n甲公司,13800000000\n', query: { dry_run: true } })
    const last = seen.at(-1)!
    expect(last.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(last.url).toBe('/api/v1/customers/import?dry_run=true')
    expect(last.body).toContain('甲公司')
  })
})
