// The pool (公海) in words: why each customer is there, a refused 领取 said plainly, and the
// team's pool rules form (what changed, what the server refused beside its field).
import { ApiError, type PoolEntry, type PoolRules } from '../../api'
import { poolCauseNames } from '../../messages'

/** The short label of why a customer is in the pool (a tag in the list). */
export function poolCauseName(entry: Pick<PoolEntry, 'pool_cause'>): string {
  return (entry.pool_cause && poolCauseNames[entry.pool_cause]) || '退回公海'
}

/** The sentence the pool shows: the rule's own words for a return, who gave it up and why otherwise. */
export function poolWhy(entry: Pick<PoolEntry, 'pool_cause' | 'pool_reason' | 'pooled_from_name'>): string {
  const who = entry.pooled_from_name ?? '前负责人'
  const reason = entry.pool_reason?.trim()
  switch (entry.pool_cause) {
    case 'no_followup':
    case 'no_won_deal':
      return reason || (entry.pool_cause === 'no_followup' ? '长期未跟进，自动退回公海' : '长期未成交，自动退回公海')
    case 'released':
      return `${who}主动退回${reason ? `：${reason}` : ''}`
    case 'offboarding':
      return `${who}已离职，客户退回团队公海`
    default:
      return `${who}放弃${reason ? `：${reason}` : ''}`
  }
}

function detail(e: ApiError, key: string): unknown {
  return e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>)[key] : undefined
}

function day(iso: unknown): string | null {
  if (typeof iso !== 'string') return null
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return null
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

/** Why a 领取 (or an entry) was refused by the team's limits, with the numbers; null for other errors. */
export function limitRefusal(e: unknown): string | null {
  if (!(e instanceof ApiError)) return null
  const limit = detail(e, 'limit')
  switch (e.code) {
    case 'daily_take_limit_reached':
      return typeof limit === 'number' ? `今天已领取 ${limit} 个客户，达到团队每人每天的上限，明天再来领取` : e.message
    case 'pool_cooldown': {
      const days = detail(e, 'cooldown_days')
      const until = day(detail(e, 'until'))
      const wait = typeof days === 'number' ? `退回公海未满 ${days} 天` : '还在冷却期内'
      return `这个客户是从你名下退回公海的，${wait}，${until ? `${until} 之后` : '冷却期过后'}才能再领取`
    }
    case 'customer_limit_reached': {
      const held = detail(e, 'held')
      return typeof limit === 'number'
        ? `你名下已有 ${typeof held === 'number' ? held : limit} 个客户，达到团队每人 ${limit} 个的上限，请先跟进或退回一些客户`
        : e.message
    }
    default:
      return null
  }
}

export const poolRuleFields: { key: keyof PoolRules; label: string; unit: string; min: number; max: number; hint: string }[] = [
  { key: 'followup_days', label: '未跟进退回天数', unit: '天', min: 1, max: 3650, hint: '客户超过这些天没有跟进记录，自动退回公海' },
  { key: 'won_deal_days', label: '未成交退回天数', unit: '天', min: 0, max: 3650, hint: '超过这些天没有赢单，自动退回公海；0 表示不启用' },
  { key: 'warning_days', label: '提前提醒天数', unit: '天', min: 0, max: 3650, hint: '退回前这些天提醒负责人；0 表示不提醒' },
  { key: 'max_customers', label: '每人客户上限', unit: '个', min: 1, max: 100000, hint: '录入或领取超过上限时拒绝' },
  { key: 'max_daily_takes', label: '每天领取上限', unit: '个', min: 0, max: 100000, hint: '每人每天最多从公海领取的客户数' },
  { key: 'cooldown_days', label: '领回冷却天数', unit: '天', min: 0, max: 3650, hint: '客户从某人名下退回公海后，此人要等这些天才能领回' },
]

/** Only the rules the form changed (the server keeps the others); empty when nothing changed. */
export function changedRules(saved: PoolRules | null, form: PoolRules): Partial<PoolRules> {
  const changes: Partial<PoolRules> = {}
  for (const { key } of poolRuleFields) {
    if (!saved || saved[key] !== form[key]) changes[key] = form[key]
  }
  return changes
}
