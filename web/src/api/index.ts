// The console's API client instance and the calls the views make, one function per route.
import { ApiClient, ApiError, newIdempotencyKey, type Query } from './client'
import type * as T from './types'

export { ApiError, newIdempotencyKey }
export type * from './types'

const TOKEN_KEY = 'crm.token'
let unauthorized: (error: ApiError) => void = () => {}

export const tokenStore = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (token: string) => localStorage.setItem(TOKEN_KEY, token),
  clear: () => localStorage.removeItem(TOKEN_KEY),
}

export function onUnauthorized(handler: (error: ApiError) => void) {
  unauthorized = handler
}

export const client = new ApiClient({ getToken: tokenStore.get, onUnauthorized: (e) => unauthorized(e) })

type Key = { idempotencyKey?: string }

export const api = {
  // accounts
  login: (username: string, password: string) =>
    client.post<T.Token>('/auth/token', { username, password }),
  me: () => client.get<T.User>('/me'),
  users: () => client.get<T.User[]>('/users'),
  createUser: (body: Partial<T.User> & { password: string }, o?: Key) => client.post<T.User>('/users', body, o),
  /** No more logins; the customers go to ``hand_over_to`` (a colleague of the team) or the team pool. */
  deactivateUser: (id: number, body: { hand_over_to: number } | { to_pool: true }, o?: Key) =>
    client.post<T.User>(`/users/${id}/deactivate`, body, o),
  reactivateUser: (id: number, o?: Key) => client.post<T.User>(`/users/${id}/reactivate`, undefined, o),

  // customers
  checkCustomer: (body: { name?: string; phone?: string }, signal?: AbortSignal) =>
    client.request<T.CheckResult>('POST', '/customers/check', { body, signal }),
  createCustomer: (body: T.NewCustomer, o?: Key) => client.post<T.Customer>('/customers', body, o),
  customers: (query: Query) => client.get<T.CustomerPage>('/customers', query),
  customer: (id: number) => client.get<T.Customer>(`/customers/${id}`),
  history: (id: number) => client.get<T.History>(`/customers/${id}/history`),
  referrals: (id: number, depth = 5) => client.get<T.Referrals>(`/customers/${id}/referrals`, { depth }),
  followups: (id: number) => client.get<T.Followup[]>(`/customers/${id}/followups`),
  addFollowup: (id: number, body: Partial<T.Followup>, o?: Key) =>
    client.post<T.Followup>(`/customers/${id}/followups`, body, o),
  requestAmendment: (id: number, body: { changes: Record<string, unknown>; reason: string }, o?: Key) =>
    client.post<T.Amendment>(`/customers/${id}/amendments`, body, o),
  customerAmendments: (id: number) => client.get<T.Amendment[]>(`/customers/${id}/amendments`),
  pendingAmendments: () => client.get<T.Amendment[]>('/amendments'),
  approveAmendment: (cid: number, aid: number, note?: string) =>
    client.post<T.Amendment>(`/customers/${cid}/amendments/${aid}/approve`, note ? { note } : undefined),
  rejectAmendment: (cid: number, aid: number, note?: string) =>
    client.post<T.Amendment>(`/customers/${cid}/amendments/${aid}/reject`, note ? { note } : undefined),
  claim: (id: number, body: { contact_name: string; decision_level: number; reason?: string }, o?: Key) =>
    client.post<T.Claim>(`/customers/${id}/claims`, body, o),
  disputes: (status?: string) => client.get<T.Dispute[]>('/disputes', { status }),
  resolveDispute: (id: number, body?: { winner_id?: number; note?: string }) =>
    client.post<T.Dispute>(`/disputes/${id}/resolve`, body),
  duplicates: (status?: string) => client.get<T.Suspicion[]>('/duplicates', { status }),
  confirmDuplicate: (id: number) => client.post<T.Suspicion>(`/duplicates/${id}/confirm`),
  dismissDuplicate: (id: number) => client.post<T.Suspicion>(`/duplicates/${id}/dismiss`),
  abandon: (id: number, body: { reason: string; alarm_id?: number }, o?: Key) =>
    client.post<T.Customer>(`/customers/${id}/abandon`, body, o),
  pool: () => client.get<T.PoolEntry[]>('/pool'),
  takeFromPool: (id: number) => client.post<T.Customer>(`/pool/${id}/take`),
  /** 退回公海: by the abandon rule (a manager-answered alarm about the customer). */
  release: (id: number, body: { reason: string; alarm_id?: number }, o?: Key) =>
    client.post<T.Customer>(`/customers/${id}/release`, body, o),
  poolSettings: (team?: string) => client.get<T.PoolSettings>('/pool/settings', { team }),
  savePoolSettings: (body: Partial<T.PoolRules>, team?: string, o?: Key) =>
    client.put<T.PoolSettings>('/pool/settings', body, { query: { team }, idempotencyKey: o?.idempotencyKey }),
  importCustomers: (file: Blob, query: Query, o?: Key) =>
    client.request<T.ImportReport | T.ImportJob>('POST', '/customers/import', {
      raw: file,
      query,
      contentType: 'text/csv',
      idempotencyKey: o?.idempotencyKey,
    }),

  importJob: (id: number, query: Query = {}) => client.get<T.ImportJob>(`/customers/import/jobs/${id}`, query),

  // pipeline
  stages: (team?: string) => client.get<T.StageSet>('/stages', { team }),
  saveStages: (body: { team?: string; stages: T.Stage[] }, o?: Key) => client.put<T.StageSet>('/stages', body, o),
  calibration: (team?: string) => client.get<T.Calibration>('/stages/calibration', { team }),
  opportunities: (query: Query) => client.get<T.Opportunity[]>('/opportunities', query),
  createOpportunity: (body: Partial<T.Opportunity>, o?: Key) => client.post<T.Opportunity>('/opportunities', body, o),
  moveOpportunity: (id: number, stage: string, o?: Key) =>
    client.post<T.Opportunity>(`/opportunities/${id}/stage`, { stage }, o),
  wonOpportunity: (id: number, reason: string, o?: Key) =>
    client.post<T.Opportunity>(`/opportunities/${id}/won`, { reason }, o),
  lostOpportunity: (id: number, reason: string, o?: Key) =>
    client.post<T.Opportunity>(`/opportunities/${id}/lost`, { reason }, o),
  targets: (query: Query) => client.get<T.Target[]>('/targets', query),
  setTarget: (body: { owner?: number; team?: string; period: string; amount: number }, o?: Key) =>
    client.put<T.Target>('/targets', body, o),
  forecast: (query: Query) => client.get<T.Forecast>('/forecast', query),
  funnel: (query: Query) => client.get<T.Funnel>('/funnel', query),

  // notify
  reminders: (query: Query) => client.get<T.Reminder[]>('/reminders', query),
  createReminder: (body: Partial<T.Reminder>, o?: Key) => client.post<T.Reminder>('/reminders', body, o),
  ackReminder: (id: number) => client.post<T.Reminder>(`/reminders/${id}/ack`),
  cancelReminder: (id: number) => client.post<T.Reminder>(`/reminders/${id}/cancel`),
  notifications: (query: Query = {}) => client.get<T.NotificationList>('/notifications', query),
  readNotification: (id: number) => client.post<T.Notification>(`/notifications/${id}/read`),
  readAllNotifications: () => client.post<{ marked: number }>('/notifications/read-all'),
  sms: (query: Query = {}) => client.get<T.Sms[]>('/sms', query),

  // knowledge
  search: (query: Query) => client.get<T.SearchResult>('/knowledge', query),
  onboarding: () => client.get<{ items: T.OnboardingItem[] }>('/knowledge/onboarding'),
  entry: (id: number) => client.get<T.Entry>(`/knowledge/${id}`),
  entryVersions: (id: number) => client.get<T.EntryVersion[]>(`/knowledge/${id}/versions`),
  createEntry: (body: Partial<T.Entry>, o?: Key) => client.post<T.Entry>('/knowledge', body, o),
  vote: (id: number) => client.post<T.Entry>(`/knowledge/${id}/vote`),
  alarms: (query: Query = {}) => client.get<T.Alarm[]>('/alarms', query),
  staleAlarms: (days?: number) => client.get<T.Alarm[]>('/alarms/stale', { days }),
  alarm: (id: number) => client.get<T.AlarmDetail>(`/alarms/${id}`),
  raiseAlarm: (body: { title: string; problem: string; customer_id?: number }, o?: Key) =>
    client.post<T.AlarmDetail>('/alarms', body, o),
  answerAlarm: (id: number, body: string, o?: Key) => client.post<T.Answer>(`/alarms/${id}/answers`, { body }, o),
  resolveAlarm: (id: number, body: { answer_id: number; publish: boolean; tags?: string[] }, o?: Key) =>
    client.post<T.Alarm>(`/alarms/${id}/resolve`, body, o),

  // appraisal (绩效考核)
  appraisalScheme: (team?: string) => client.get<T.AppraisalScheme>('/appraisal/scheme', { team }),
  saveAppraisalScheme: (body: T.AppraisalSchemeInput, o?: Key) =>
    client.put<T.AppraisalScheme>('/appraisal/scheme', body, o),
  computeScorecards: (body: { team?: string; period: string }, o?: Key) =>
    client.post<T.Scorecard[]>('/appraisal/scorecards/compute', body, o),
  teamScorecards: (query: { team?: string; period: string }) => client.get<T.Scorecard[]>('/appraisal/scorecards', query),
  myScorecards: (period?: string) => client.get<T.Scorecard[]>('/appraisal/scorecards/mine', { period }),
  scorecard: (id: number) => client.get<T.Scorecard>(`/appraisal/scorecards/${id}`),
  scorecardEvidence: (id: number, query: { metric?: string; limit?: number; offset?: number } = {}) =>
    client.get<T.Evidence[]>(`/appraisal/scorecards/${id}/evidence`, query),
  setManagerScores: (id: number, scores: T.ManagerScore[], o?: Key) =>
    client.put<T.Scorecard>(`/appraisal/scorecards/${id}/scores`, { scores }, o),
  publishScorecard: (id: number, o?: Key) => client.post<T.Scorecard>(`/appraisal/scorecards/${id}/publish`, undefined, o),
  acknowledgeScorecard: (id: number, o?: Key) =>
    client.post<T.Scorecard>(`/appraisal/scorecards/${id}/acknowledge`, undefined, o),
  disputeScorecard: (id: number, reason: string, o?: Key) =>
    client.post<T.Scorecard>(`/appraisal/scorecards/${id}/dispute`, { reason }, o),
  reviewScorecard: (id: number, body: { note: string; scores?: T.ManagerScore[] }, o?: Key) =>
    client.post<T.Scorecard>(`/appraisal/scorecards/${id}/review`, body, o),
  addInterviewNote: (id: number, body: string, o?: Key) =>
    client.post<T.Scorecard>(`/appraisal/scorecards/${id}/notes`, { body }, o),
}
