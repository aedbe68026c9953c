// The shapes of /api/v1 answers the console reads (see /api/v1/openapi.json).
export interface Token { access_token: string; token_type: string; expires_in: number }
export interface User {
  id: number; username: string; display_name: string; role: 'sales' | 'manager' | 'admin'; team: string
  manager_id?: number; manager?: string; phone?: string; escalate_after_minutes?: number; active?: boolean
  created_at?: string
}
export interface Match {
  customer_id: number; name: string; owner: string; owner_id: number; status: string
  matched_on: string[]; score: number; reason: string; entered_at?: string
}
export interface CheckResult { duplicate: boolean; matches: Match[] }
export interface Contact { name: string; title?: string; phone?: string; decision_level?: number }
export interface NewCustomer {
  name: string; phone?: string; address?: string; industry?: string; birthday?: string
  next_visit_at?: string; next_visit_contact?: string; referred_by?: number; contacts?: Contact[]
}
export interface Followup {
  id: number; customer_id: number; kind: string; summary: string; contact?: string
  occurred_at: string; recorded_by: number; recorded_at: string
}
export interface Customer extends NewCustomer {
  id: number; phones: string[]; contacts: Contact[]; owner_id: number | null; owner_name: string | null; team: string
  status: string; revision: number; entered_by: number; entered_at: string; owned_since?: string
  pooled_at?: string; archived_at?: string; followups?: Followup[]
}
export interface CustomerPage { items: Customer[]; total: number; page: number; per_page: number }
export interface ImportRow {
  line: number; status: string; name: string; customer_id?: number; errors?: string[]; field_errors?: Record<string, string[]>
  duplicate_of?: { customer_id: number; name: string; owner?: string | null } | null
}
export interface ImportJob {
  id: number; state: 'queued' | 'running' | 'finished' | 'failed'; dry_run: boolean; total_rows: number; rows_done: number
  created: number; duplicates: number; invalid: number; error?: string | null; rows: ImportRow[]
}
export interface ImportReport { owner_id: number; dry_run: boolean; created: number; duplicates: number; invalid: number; rows: ImportRow[] }
export interface Revision {
  revision: number; snapshot: Record<string, unknown>; changed_fields: string[]; reason: string
  changed_by_name: string; changed_at: string; approved_by_name?: string
}
export interface OwnershipChange {
  from_owner_name?: string; to_owner_name?: string; from_status: string; to_status: string; reason: string
  note?: string; changed_by_name: string; changed_at: string
}
export interface Amendment {
  id: number; customer_id: number; changes: Record<string, unknown>; changed_fields: string[]; reason: string
  status: string; requested_by_name: string; requested_at: string; decided_by_name?: string
  decided_at?: string; decision_note?: string
}
export interface Claim {
  id: number; dispute_id: number; customer_id: number; claimant_id: number; claimant_name: string
  contact_name: string; decision_level: number; reason?: string; claimed_at: string; status: string
}
export interface History { customer_id: number; revisions: Revision[]; ownership_changes: OwnershipChange[]; amendments: Amendment[]; claims: Claim[] }
export interface ReferralNode { customer_id: number; name: string; owner: string; children: ReferralNode[]; truncated?: boolean }
export interface Referrals extends ReferralNode { referrers: { customer_id: number; name: string; owner: string }[]; cycle_detected?: boolean }
export interface Dispute {
  id: number; customer_id: number; customer_name: string; status: string; owner_id: number; owner_name: string
  opened_at: string; claims: Claim[]; proposed_winner_id?: number; proposal_reason?: string; winner_id?: number
}
export interface Suspicion {
  id: number; score: number; reason: string; status: string; detected_at: string
  customer: { id: number; name: string; owner_name: string }; duplicate_of: { id: number; name: string; owner_name: string }
}
export type PoolCause = 'abandoned' | 'released' | 'offboarding' | 'no_followup' | 'no_won_deal'
export interface PoolEntry {
  id: number; name: string; industry?: string; address?: string; team: string; pooled_at: string
  pooled_from?: number | null; pooled_from_name?: string | null; pool_reason?: string | null
  /** why it came back (null for customers pooled before the pool rules) */
  pool_cause?: PoolCause | null; returned_at?: string | null
}
/** A team's pool rules (公海规则), as its manager sets them. */
export interface PoolRules {
  followup_days: number; won_deal_days: number; warning_days: number
  max_customers: number; max_daily_takes: number; cooldown_days: number
}
export interface PoolSettings extends PoolRules { team: string; updated_by?: number | null; updated_at?: string | null }
export interface Stage { key: string; name: string; probability: number; in_forecast?: boolean }
export interface StageSet { version: number; team: string; stages: Stage[]; inherited?: boolean }
export interface StageCalibration {
  stage: string; name: string; configured_probability: number; reached: number; won: number
  observed_rate: number | null; low: number | null; high: number | null; suggested_probability: number | null; disagrees: boolean
}
export interface Calibration { team: string; stages: StageCalibration[]; level?: number }
export interface Opportunity {
  id: number; customer_id: number; owner_id: number; team: string; title: string; amount: number | string; currency: string
  stage: string; status: string; expected_close_date?: string; close_reason?: string; created_at: string; updated_at?: string
}
export interface Target { id: number; owner_id?: number; team?: string; period: string; amount: number | string }
export interface ForecastStage { stage: string; name: string; probability: number; count: number; amount: number | string; weighted: number | string }
export interface OwnerForecast {
  weighted_total: number | string; stages: ForecastStage[]; sample_size: number; min_sample: number; reliable: boolean
  interval: { low: number | string; high: number | string; level: number }; target: number | string | null; gap: number | string | null
  owner_id: number; display_name: string
}
export interface Forecast extends Omit<OwnerForecast, 'owner_id' | 'display_name'> {
  owner_id?: number; team?: string; period: string; suggested_target?: number | string | null; by_owner?: OwnerForecast[]
  target_above_forecast_pct?: number | null
}
export interface FunnelStage { stage: string; name: string; probability: number; count: number; amount?: number }
export interface Advice { kind: string; from_stage?: string; to_stage?: string; count: number; message: string }
export interface Funnel {
  stages: FunnelStage[]; advice: Advice[]
  by_owner?: { owner_id: number; display_name: string; stages: FunnelStage[]; advice: Advice[] }[]
}
export interface Reminder {
  id: number; owner_id: number; kind: string; title: string; content?: string; customer_id?: number; status: string
  late?: boolean; escalate_after_minutes?: number; due_at: string; escalate_at?: string; fired_at?: string
  acknowledged_at?: string; escalated_at?: string
}
export interface Notification {
  id: number; kind: string; title: string; body: string; reminder_id?: number; subject_type?: string
  subject_id?: string; created_at: string; read: boolean
}
export interface NotificationList { unread_count: number; notifications: Notification[] }
export interface Sms {
  id: number; reminder_id?: number; recipient_id: number; to: string; body: string; status: string
  provider: string; attempts: number; created_at: string; sent_at?: string; last_error?: string
}
export interface Entry {
  id: number; kind: string; title: string; problem?: string; solution: string; tags: string[]
  author_name?: string; version: number; views: number; useful_votes: number; pinned?: boolean
  created_at: string; updated_at?: string; customer_id?: number
}
export interface SearchHit extends Entry { highlights?: { title?: string; problem?: string; solution?: string } }
export interface SearchResult { q: string; terms: string[]; items: SearchHit[]; has_more: boolean }
export interface OnboardingItem { reason: string; tag?: string; entry: Entry }
export interface EntryVersion { version: number; title: string; problem?: string; solution: string; tags: string[]; edited_at: string }
export interface Answer { id: number; alarm_id: number; author_name: string; body: string; by_manager: boolean; answered_at: string }
export interface Alarm {
  id: number; title: string; problem: string; customer_id?: number; customer_name?: string; raised_by: number
  raised_by_name: string; team: string; status: string; manager_answered: boolean; accepted_answer_id?: number
  entry_id?: number; raised_at: string; resolved_at?: string; answer_count: number
}
export interface AlarmDetail extends Alarm {
  answers: Answer[]
  similar_entries: { id: number; kind: string; title: string; useful_votes: number; score: number }[]
}
// appraisal (绩效考核)
export type ScorecardState = 'draft' | 'published' | 'acknowledged' | 'disputed' | 'reviewed'
export interface AppraisalTerm { metric: string; par: string; weight: number }
export interface AppraisalIndicator { key: string; name: string; weight: number; manager_share: number; metrics: AppraisalTerm[] }
export interface AppraisalBands { excellent: string; good: string; pass: string }
export interface AppraisalScheme { team: string; default: boolean; indicators: AppraisalIndicator[]; bands: AppraisalBands }
export interface AppraisalSchemeInput { team?: string; indicators: AppraisalIndicator[]; bands?: AppraisalBands }
export interface MetricScore { metric: string; value: string | null; score: string | null }
export interface IndicatorScore {
  key: string; name: string; weight: number; manager_share: number; objective: string | null
  manager_score: string | null; manager_comment: string | null; score: string | null; metrics: MetricScore[]
}
export interface InterviewNote { id: number; author_id: number; author_name: string; body: string; created_at: string }
export interface Scorecard {
  id: number; person_id: number; person_name: string; role: string; team: string; period: string
  state: ScorecardState; total: string | null; rating: string | null; rank: number | null; missing: string[]
  won_amount: string | null; target: string | null; indicators: IndicatorScore[]; computed_at: string
  published_at: string | null; acknowledged_at: string | null; disputed_at: string | null; dispute_reason: string | null
  reviewed_at: string | null; reviewed_by: number | null; review_note: string | null; notes?: InterviewNote[]
}
export interface ManagerScore { indicator: string; score: string; comment: string }
export interface Evidence {
  kind: string; ref_id: number; related_id: number | null; amount: string | null; label: string | null; day: string
  occurred_at: string; source_event_id: string; accepted: boolean | null
}
