// The 绩效 page's own logic, kept out of the components so vitest can check it: names of states,
// metrics and evidence, the periods one may pick, score text, the scheme form's checks (weights
// summing to 100 …), the server's scheme errors in Chinese, the manager's score form and the radar.
import type {
  AppraisalBands,
  AppraisalIndicator,
  Evidence,
  ManagerScore,
  Scorecard,
  ScorecardState,
} from '../../api/types'
import { num } from '../../format'

export const stateNames: Record<ScorecardState, string> = {
  draft: '草稿',
  published: '已发布',
  acknowledged: '已确认',
  disputed: '申诉中',
  reviewed: '已复核',
}

export const stateTones: Record<ScorecardState, 'info' | 'primary' | 'success' | 'danger' | 'warning'> = {
  draft: 'info',
  published: 'primary',
  acknowledged: 'success',
  disputed: 'danger',
  reviewed: 'warning',
}

export const metricNames: Record<string, string> = {
  attainment: '目标达成率（赢单金额 ÷ 目标）',
  customers_created: '新增客户数',
  win_rate: '赢单率',
  answers_for_colleagues: '回复同事的困难报警',
  answers_accepted: '回复被采纳为解决方案',
  entries_published: '发布知识条目',
  entries_from_alarms: '由报警沉淀的知识条目',
  reminders_on_time: '提醒按时处理率（未被短信催办）',
  team_attainment: '团队目标达成率',
  alarms_answered_in_a_day: '24 小时内回复团队报警的比例',
  followups: '跟进记录数',
  followups_on_time: '按计划回访日期完成的跟进',
  reminders_acknowledged_in_time: '短信催办前确认提醒的比例',
  useful_votes: '知识条目获同事“有用”票数',
  onboarding_read: '阅读新人必读条目',
}

/** Metrics whose value is a ratio (shown as a percentage); the others are counts. */
export const RATIO_METRICS = new Set([
  'attainment',
  'win_rate',
  'reminders_on_time',
  'team_attainment',
  'alarms_answered_in_a_day',
  'reminders_acknowledged_in_time',
])

export const evidenceKindNames: Record<string, string> = {
  deal_won: '赢单',
  deal_lost: '输单',
  customer_created: '新增客户',
  reminder_due: '到期提醒',
  reminder_escalated: '短信催办',
  alarm_raised: '发起报警',
  answer: '回复报警',
  alarm_resolved: '报警解决',
  entry_published: '发布知识',
  answer_accepted: '回复被采纳',
  followup: '跟进记录',
  reminder_acknowledged: '确认提醒',
  entry_voted: '“有用”投票',
  entry_read: '阅读知识',
}

export const ratingTones: Record<string, 'success' | 'primary' | 'warning' | 'danger'> = {
  优秀: 'success',
  良好: 'primary',
  合格: 'warning',
  待改进: 'danger',
}

/** "2026-Q4" for a date (the quarter it falls in). */
export function quarterOf(now: Date): string {
  return `${now.getFullYear()}-Q${Math.floor(now.getMonth() / 3) + 1}`
}

/** The periods one may compute, newest first: this quarter and the ones before it for ``years``
 * years, each year's roll-up after its fourth quarter (this year's too). Never a future period. */
export function periodChoices(now: Date = new Date(), years = 2): string[] {
  const out: string[] = []
  const year = now.getFullYear()
  const quarter = Math.floor(now.getMonth() / 3) + 1
  for (let y = year; y > year - years; y--) {
    out.push(`${y}`)
    for (let q = y === year ? quarter : 4; q >= 1; q--) out.push(`${y}-Q${q}`)
  }
  return out
}

export function periodName(period: string): string {
  const m = /^(\d{4})(?:-Q([1-4]))?$/.exec(period)
  if (!m) return period
  return m[2] ? `${m[1]} 年第 ${m[2]} 季度` : `${m[1]} 年度`
}

/** A score as the page shows it: "85.5", "100", "—" for none. */
export function scoreText(raw: string | number | null | undefined, digits = 1): string {
  const value = num(raw)
  if (value === null) return '—'
  return String(Number(value.toFixed(digits)))
}

/** A metric's value: a ratio as a percentage, a count as a whole number. */
export function metricValueText(metric: string, raw: string | null | undefined): string {
  const value = num(raw)
  if (value === null) return '—'
  if (RATIO_METRICS.has(metric)) return `${Number((value * 100).toFixed(1))}%`
  return String(Number(value.toFixed(2)))
}

// ---- the scheme form --------------------------------------------------------------------------

export function weightSum(indicators: Pick<AppraisalIndicator, 'weight'>[]): number {
  return indicators.reduce((sum, i) => sum + (Number.isFinite(i.weight) ? Number(i.weight) : 0), 0)
}

const KEY = /^[a-z][a-z0-9_]{0,31}$/

/** What is wrong with a scheme before it is sent: field path → Chinese message (empty when fine).
 * The paths are the server's ("indicators.1.weight", "weights", "bands"). */
export function schemeProblems(indicators: AppraisalIndicator[], bands: AppraisalBands): Record<string, string> {
  const problems: Record<string, string> = {}
  if (!indicators.length) problems.indicators = '至少需要一个指标'
  const seen = new Set<string>()
  indicators.forEach((ind, i) => {
    const at = `indicators.${i}`
    if (!KEY.test(ind.key)) problems[`${at}.key`] = '代码须以小写字母开头，只含小写字母、数字和下划线'
    else if (seen.has(ind.key)) problems[`${at}.key`] = `代码「${ind.key}」重复`
    seen.add(ind.key)
    if (!ind.name.trim()) problems[`${at}.name`] = '名称不能为空'
    if (!Number.isInteger(ind.weight) || ind.weight < 0 || ind.weight > 100) problems[`${at}.weight`] = '权重须为 0–100 的整数'
    if (!Number.isInteger(ind.manager_share) || ind.manager_share < 0 || ind.manager_share > 100)
      problems[`${at}.manager_share`] = '经理评分占比须为 0–100 的整数'
    else if (!ind.metrics.length && ind.manager_share !== 100)
      problems[`${at}.manager_share`] = '没有客观数据的指标只能由经理评分（占比 100%）'
    ind.metrics.forEach((t, j) => {
      const par = num(t.par)
      if (par === null || par <= 0) problems[`${at}.metrics.${j}.par`] = '满分值须大于 0'
      if (!Number.isInteger(t.weight) || t.weight < 1) problems[`${at}.metrics.${j}.weight`] = '权重至少为 1'
    })
  })
  const total = weightSum(indicators)
  if (indicators.length && total !== 100) problems.weights = `各指标权重之和须为 100，现在是 ${total}`
  const [e, g, p] = [num(bands.excellent), num(bands.good), num(bands.pass)]
  if ([e, g, p].some((t) => t === null || t < 0 || t > 100)) problems.bands = '等级分数线须在 0–100 之间'
  else if (!(e! > g! && g! > p!)) problems.bands = '分数线须满足：优秀 > 良好 > 合格'
  return problems
}

const FIELD_NAMES: Record<string, string> = {
  key: '代码',
  name: '名称',
  weight: '权重',
  manager_share: '经理评分占比',
  metric: '数据项',
  par: '满分值',
}

/** A server field path in Chinese: "indicators.1.metrics.0.par" → "第 2 个指标 · 第 1 项数据 · 满分值". */
export function fieldPathName(path: string): string {
  if (path === 'weights') return '权重合计'
  if (path === 'bands' || path.startsWith('bands.')) return '等级分数线'
  if (path === 'indicators') return '指标'
  const parts = path.split('.')
  const out: string[] = []
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]
    const next = parts[i + 1]
    if (part === 'indicators' && next !== undefined && /^\d+$/.test(next)) {
      out.push(`第 ${Number(next) + 1} 个指标`)
      i++
    } else if (part === 'metrics' && next !== undefined && /^\d+$/.test(next)) {
      out.push(`第 ${Number(next) + 1} 项数据`)
      i++
    } else if (part === 'scores' && next !== undefined && /^\d+$/.test(next)) {
      out.push(`第 ${Number(next) + 1} 项评分`)
      i++
    } else out.push(FIELD_NAMES[part] ?? part)
  }
  return out.join(' · ')
}

/** The details of a 400 as lines to show: flat paths (``{"weights": ["the weights sum to 95, not
 * 100"]}``, the service's own checks) and nested ones (``{"indicators": {"0": {"weight": [...]}}}``,
 * the request's shape) alike. */
export function detailLines(details: unknown): string[] {
  if (!details || typeof details !== 'object' || Array.isArray(details)) return []
  const lines: string[] = []
  const walk = (path: string, raw: unknown) => {
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) walk(path ? `${path}.${key}` : key, value)
      return
    }
    const text = Array.isArray(raw) ? raw.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('；') : String(raw)
    lines.push(`${fieldPathName(path)}：${text}`)
  }
  walk('', details)
  return lines
}

// ---- the manager's scores -------------------------------------------------------------------

export interface ScoreRow { indicator: string; name: string; share: number; score: number | null; comment: string }

/** The form's rows for the indicators that have a manager's part, filled with what was given. */
export function scoreRows(card: Scorecard): ScoreRow[] {
  return card.indicators
    .filter((i) => i.manager_share > 0)
    .map((i) => ({
      indicator: i.key,
      name: i.name,
      share: i.manager_share,
      score: num(i.manager_score),
      comment: i.manager_comment ?? '',
    }))
}

/** The body of PUT …/scores from the filled rows, or the problems (row index → message). */
export function scoresBody(rows: ScoreRow[]): { scores: ManagerScore[]; problems: Record<number, string> } {
  const scores: ManagerScore[] = []
  const problems: Record<number, string> = {}
  rows.forEach((row, i) => {
    const untouched = row.score === null && !row.comment.trim()
    if (untouched) return
    if (row.score === null || !Number.isFinite(row.score) || row.score < 0 || row.score > 100) problems[i] = '分数须在 0–100 之间'
    else if (!row.comment.trim()) problems[i] = '请填写评语'
    else scores.push({ indicator: row.indicator, score: String(row.score), comment: row.comment.trim() })
  })
  return { scores, problems }
}

// ---- who may do what on a card (the service decides; this only shows the buttons) -------------

export interface Viewer { id: number; role: string }

export function actionsFor(card: Scorecard, viewer: Viewer) {
  const own = card.person_id === viewer.id
  const manager = viewer.role === 'manager' || viewer.role === 'admin'
  return {
    respond: own && card.state === 'published',
    score: manager && !own && card.state === 'draft',
    publish: manager && !own && card.state === 'draft',
    note: manager && !own && card.state !== 'draft',
    review: manager && !own && card.state === 'disputed',
  }
}

// ---- evidence --------------------------------------------------------------------------------

/** Where an evidence row leads in the console, when it has a page. */
export function evidenceLink(row: Evidence): string | null {
  switch (row.kind) {
    case 'customer_created':
      return `/customers/${row.ref_id}`
    case 'entry_published':
    case 'entry_voted':
    case 'entry_read':
      return `/knowledge/entries/${row.ref_id}`
    case 'followup':
      return row.related_id ? `/customers/${row.related_id}` : null
    case 'alarm_raised':
      return `/alarms/${row.ref_id}`
    case 'answer':
    case 'alarm_resolved':
    case 'answer_accepted':
      return row.related_id ? `/alarms/${row.related_id}` : null
    default:
      return null
  }
}

export function evidenceRef(row: Evidence): string {
  const what: Record<string, string> = {
    deal_won: '商机',
    deal_lost: '商机',
    customer_created: '客户',
    reminder_due: '提醒',
    reminder_escalated: '提醒',
    alarm_raised: '报警',
    answer: '回复',
    alarm_resolved: '回复',
    entry_published: '条目',
    answer_accepted: '回复',
    followup: '跟进',
    reminder_acknowledged: '提醒',
    entry_voted: '条目',
    entry_read: '条目',
  }
  return `${what[row.kind] ?? ''} #${row.ref_id}`
}

// ---- the radar chart -------------------------------------------------------------------------

/** ECharts' radar of a card's indicators: its final score per indicator (0–100), and the objective
 * part alongside it. */
export function radarOption(card: Scorecard) {
  const indicators = card.indicators
  const values = (pick: (i: Scorecard['indicators'][number]) => string | null) =>
    indicators.map((i) => {
      const v = num(pick(i))
      return v === null ? 0 : Number(v.toFixed(1))
    })
  return {
    tooltip: { trigger: 'item' },
    legend: { bottom: 0, data: ['得分', '客观分'] },
    radar: {
      indicator: indicators.map((i) => ({ name: `${i.name}\n${i.weight}%`, max: 100 })),
      radius: '62%',
      axisName: { color: '#606266' },
    },
    series: [
      {
        type: 'radar',
        data: [
          { name: '得分', value: values((i) => i.score), areaStyle: { opacity: 0.25 } },
          { name: '客观分', value: values((i) => i.objective), lineStyle: { type: 'dashed' } },
        ],
      },
    ],
  }
}
