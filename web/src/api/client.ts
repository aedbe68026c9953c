// The one way the console talks to /api/v1: the bearer token, the error body turned into a Chinese
// message per `code` with field `details`, and an Idempotency-Key on every write. Views never call
// fetch themselves.
import { fieldMessage, messageFor } from '../messages'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  /** The server's own (English) message, for logs. */
  readonly serverMessage: string
  readonly details: unknown

  constructor(status: number, code: string, serverMessage: string, details: unknown) {
    super(messageFor(code, status))
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.serverMessage = serverMessage
    this.details = details
  }

  /** Field name → Chinese message, for showing beside the fields (validation errors). */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {}
    if (this.details && typeof this.details === 'object' && !Array.isArray(this.details)) {
      for (const [field, raw] of Object.entries(this.details as Record<string, unknown>)) {
        if (this.status === 400) out[field] = fieldMessage(raw)
      }
    }
    return out
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  body?: unknown
  query?: Query
  /** Raw body (a CSV file): sent as is with its own content type. */
  raw?: Blob | string
  contentType?: string
  /** One key per logical submission: a retry of the same submission sends the same key. */
  idempotencyKey?: string
  signal?: AbortSignal
}

export interface ClientOptions {
  baseUrl?: string
  fetch?: typeof fetch
  getToken?: () => string | null
  /** Called when the server says the token is missing, expired or invalid. */
  onUnauthorized?: (error: ApiError) => void
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  // older browsers: 122 random bits in the UUID v4 layout
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export function queryString(query?: Query): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

export class ApiClient {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch
  private readonly options: ClientOptions

  constructor(options: ClientOptions = {}) {
    this.options = options
    this.baseUrl = options.baseUrl ?? '/api/v1'
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args))
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    const token = this.options.getToken?.()
    if (token) headers.Authorization = `Bearer ${token}`
    let body: BodyInit | undefined
    if (options.raw !== undefined) {
      body = options.raw
      headers['Content-Type'] = options.contentType ?? 'text/csv; charset=utf-8'
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['Content-Type'] = 'application/json'
    }
    if (WRITES.has(method)) headers['Idempotency-Key'] = options.idempotencyKey ?? newIdempotencyKey()

    let response: Response
    try {
      response = await this.fetchImpl(this.baseUrl + path + queryString(options.query), {
        method,
        headers,
        body,
        signal: options.signal,
      })
    } catch (cause) {
      if ((cause as Error)?.name === 'AbortError') throw cause
      throw new ApiError(0, 'network_error', String(cause), null)
    }
    const text = await response.text()
    let payload: unknown = null
    if (text) {
      try {
        payload = JSON.parse(text)
      } catch {
        payload = null
      }
    }
    if (!response.ok) {
      const error = (payload as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error
      const apiError = new ApiError(
        response.status,
        error?.code ?? `http_${response.status}`,
        error?.message ?? text.slice(0, 200),
        error?.details ?? null,
      )
      if (response.status === 401) this.options.onUnauthorized?.(apiError)
      throw apiError
    }
    return payload as T
  }

  get<T = unknown>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal })
  }

  post<T = unknown>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body })
  }

  put<T = unknown>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body })
  }
}
