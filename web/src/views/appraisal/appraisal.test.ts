import { describe, expect, it } from 'vitest'
import type { AppraisalIndicator, Evidence, Scorecard } from '../../api/types'
import {
  actionsFor,
  detailLines,
  evidenceLink,
  fieldPathName,
  metricValueText,
  periodChoices,
  periodName,
  quarterOf,
  radarOption,
  schemeProblems,
  scoreRows,
  scoresBody,
  scoreText,
  weightSum,
} from './appraisal'

const BANDS = { excellent: '90', good: '80', pass: '60' }

function indicator(over: Partial<AppraisalIndicator> = {}): AppraisalIndicator {
  return { key: 'attainment', name: '目标达成', weight: 100, manager_share: 20, metrics: [{ metric: 'attainment', par: '1', weight: 1 }], ...over }
}

function card(over: Partial<Scorecard> = {}): Scorecard {
  return {
    id: 7, person_id: 3, person_name: '张三', role: 'sales', team: 'east', period: '2026-Q4', state: 'draft',
    total: null, rating: null, rank: null, missing: ['teamwork'], won_amount: '300000.00', target: '400000.00',
    indicators: [
      { key: 'attainment', name: '目标达成', weight: 60, manager_share: 20, objective: '75.00', manager_score: '90', manager_comment: '不错', score: '78.00', metrics: [] },
      { key: 'teamwork', name: '团队协作', weight: 40, manager_share: 40, objective: '50.00', manager_score: null, manager_comment: null, score: null, metrics: [] },
      { key: 'auto', name: '全自动', weight: 0, manager_share: 0, objective: '10', manager_score: null, manager_comment: null, score: '10', metrics: [] },
    ],
    computed_at: '2026-11-30T10:00:00Z', published_at: null, acknowledged_at: null, disputed_at: null, dispute_reason: null,
    reviewed_at: null, reviewed_by: null, review_note: null,
    ...over,
  }
}

describe('periods', () => {
  it('names the quarter a day falls in', () => {
    expect(quarterOf(new Date(2026, 10, 30))).toBe('2026-Q4')
    expect(quarterOf(new Date(2026, 0, 1))).toBe('2026-Q1')
    expect(quarterOf(new Date(2026, 2, 31))).toBe('2026-Q1')
    expect(quarterOf(new Date(2026, 3, 1))).toBe('2026-Q2')
  })
  it('offers no future quarter, newest first, each year with its roll-up', () => {
    expect(periodChoices(new Date(2026, 4, 10))).toEqual(['2026', '2026-Q2', '2026-Q1', '2025', '2025-Q4', '2025-Q3', '2025-Q2', '2025-Q1'])
  })
  it('reads a period in Chinese', () => {
    expect(periodName('2026-Q3')).toBe('2026 年第 3 季度')
    expect(periodName('2026')).toBe('2026 年度')
    expect(periodName('bad')).toBe('bad')
  })
})

describe('numbers', () => {
  it('shows scores with at most one decimal, and a dash for none', () => {
    expect(scoreText('85.50')).toBe('85.5')
    expect(scoreText('100.00')).toBe('100')
    expect(scoreText('66.666')).toBe('66.7')
    expect(scoreText(null)).toBe('—')
  })
  it('shows ratios as percentages and counts as numbers', () => {
    expect(metricValueText('attainment', '0.7500')).toBe('75%')
    expect(metricValueText('reminders_on_time', '0.3333')).toBe('33.3%')
    expect(metricValueText('answers_for_colleagues', '4.0000')).toBe('4')
    expect(metricValueText('win_rate', null)).toBe('—')
  })
})

describe('the scheme form', () => {
  it('sums the weights', () => {
    expect(weightSum([{ weight: 40 }, { weight: 20 }, { weight: 20 }, { weight: 10 }, { weight: 10 }])).toBe(100)
    expect(weightSum([])).toBe(0)
  })
  it('accepts a sound scheme', () => {
    expect(schemeProblems([indicator()], BANDS)).toEqual({})
  })
  it('refuses weights that do not sum to 100, naming the sum', () => {
    const problems = schemeProblems([indicator({ weight: 60 }), indicator({ key: 'other', weight: 30 })], BANDS)
    expect(problems.weights).toBe('各指标权重之和须为 100，现在是 90')
    expect(Object.keys(problems)).toEqual(['weights'])
  })
  it('refuses bad keys, repeated keys, empty names, shares and pars out of range', () => {
    const problems = schemeProblems(
      [
        indicator({ weight: 50 }),
        indicator({ key: 'attainment', name: ' ', weight: 50, manager_share: 120, metrics: [{ metric: 'win_rate', par: '0', weight: 0 }] }),
        indicator({ key: '9x', weight: 0 }),
      ],
      BANDS,
    )
    expect(problems['indicators.1.key']).toContain('重复')
    expect(problems['indicators.1.name']).toBe('名称不能为空')
    expect(problems['indicators.1.manager_share']).toContain('0–100')
    expect(problems['indicators.1.metrics.0.par']).toBe('满分值须大于 0')
    expect(problems['indicators.1.metrics.0.weight']).toBe('权重至少为 1')
    expect(problems['indicators.2.key']).toContain('小写字母')
    expect(problems.weights).toBeUndefined()
  })
  it('wants an indicator without figures to be all the manager’s', () => {
    expect(schemeProblems([indicator({ metrics: [], manager_share: 50 })], BANDS)['indicators.0.manager_share']).toContain('100%')
    expect(schemeProblems([indicator({ metrics: [], manager_share: 100 })], BANDS)).toEqual({})
  })
  it('wants the rating thresholds descending within 0–100', () => {
    expect(schemeProblems([indicator()], { excellent: '80', good: '80', pass: '60' }).bands).toContain('优秀 > 良好 > 合格')
    expect(schemeProblems([indicator()], { excellent: '101', good: '80', pass: '60' }).bands).toContain('0–100')
    expect(schemeProblems([], BANDS).indicators).toBe('至少需要一个指标')
  })
  it('puts the server’s 400 details into Chinese lines, flat or nested', () => {
    expect(detailLines({ weights: ['the weights sum to 95, not 100'] })).toEqual(['权重合计：the weights sum to 95, not 100'])
    expect(detailLines({ 'indicators.1.metrics.0.par': ['above 0'] })).toEqual(['第 2 个指标 · 第 1 项数据 · 满分值：above 0'])
    expect(detailLines({ indicators: { 0: { metrics: { 1: { par: ['Must be less than or equal to 1000000000.'] } } } } })).toEqual([
      '第 1 个指标 · 第 2 项数据 · 满分值：Must be less than or equal to 1000000000.',
    ])
    expect(detailLines(null)).toEqual([])
    expect(fieldPathName('scores.2.score')).toBe('第 3 项评分 · score')
  })
})

describe('the manager’s scores', () => {
  it('offers the indicators that have a manager part, filled with what was given', () => {
    expect(scoreRows(card())).toEqual([
      { indicator: 'attainment', name: '目标达成', share: 20, score: 90, comment: '不错' },
      { indicator: 'teamwork', name: '团队协作', share: 40, score: null, comment: '' },
    ])
  })
  it('sends the filled rows, skips the untouched and refuses a score without comment or out of range', () => {
    const rows = scoreRows(card())
    expect(scoresBody(rows)).toEqual({ scores: [{ indicator: 'attainment', score: '90', comment: '不错' }], problems: {} })
    rows[1].score = 70
    expect(scoresBody(rows).problems).toEqual({ 1: '请填写评语' })
    rows[1].comment = '  积极  '
    rows[1].score = 101
    expect(scoresBody(rows).problems).toEqual({ 1: '分数须在 0–100 之间' })
    rows[1].score = 70
    expect(scoresBody(rows).scores[1]).toEqual({ indicator: 'teamwork', score: '70', comment: '积极' })
  })
})

describe('who sees which buttons', () => {
  const manager = { id: 1, role: 'manager' }
  const person = { id: 3, role: 'sales' }
  it('lets the manager score and publish a draft, not the person', () => {
    expect(actionsFor(card(), manager)).toMatchObject({ score: true, publish: true, respond: false, note: false, review: false })
    expect(actionsFor(card(), person)).toMatchObject({ score: false, publish: false, respond: false })
  })
  it('lets the person acknowledge or dispute a published card, the manager write notes', () => {
    expect(actionsFor(card({ state: 'published' }), person).respond).toBe(true)
    expect(actionsFor(card({ state: 'published' }), manager)).toMatchObject({ respond: false, note: true, score: false })
    expect(actionsFor(card({ state: 'acknowledged' }), person).respond).toBe(false)
  })
  it('offers the review of a dispute to managers and admins, never on their own card', () => {
    expect(actionsFor(card({ state: 'disputed' }), { id: 9, role: 'admin' }).review).toBe(true)
    expect(actionsFor(card({ state: 'disputed', person_id: 1 }), manager).review).toBe(false)
  })
})

describe('evidence and the radar', () => {
  const row = (over: Partial<Evidence>): Evidence => ({
    kind: 'deal_won', ref_id: 5, related_id: null, amount: '1000', label: null, day: '2026-11-01',
    occurred_at: '2026-11-01T02:00:00Z', source_event_id: 'e1', accepted: null, ...over,
  })
  it('links evidence to its page where the console has one', () => {
    expect(evidenceLink(row({ kind: 'customer_created', ref_id: 12 }))).toBe('/customers/12')
    expect(evidenceLink(row({ kind: 'answer', ref_id: 4, related_id: 8 }))).toBe('/alarms/8')
    expect(evidenceLink(row({ kind: 'entry_published', ref_id: 3 }))).toBe('/knowledge/entries/3')
    expect(evidenceLink(row({ kind: 'deal_won' }))).toBeNull()
    // the evidence customers, notify and knowledge publish for the appraisal
    expect(evidenceLink(row({ kind: 'entry_voted', ref_id: 3, related_id: 9 }))).toBe('/knowledge/entries/3')
    expect(evidenceLink(row({ kind: 'followup', ref_id: 5, related_id: 12 }))).toBe('/customers/12')
    expect(evidenceLink(row({ kind: 'answer_accepted', ref_id: 4, related_id: 8 }))).toBe('/alarms/8')
    expect(evidenceLink(row({ kind: 'reminder_acknowledged' }))).toBeNull()
  })
  it('draws one radar axis per indicator, the score and the objective part', () => {
    const option = radarOption(card())
    expect(option.radar.indicator.map((i) => i.name)).toEqual(['目标达成\n60%', '团队协作\n40%', '全自动\n0%'])
    expect(option.radar.indicator.every((i) => i.max === 100)).toBe(true)
    expect(option.series[0].data[0].value).toEqual([78, 0, 10])
    expect(option.series[0].data[1].value).toEqual([75, 50, 10])
  })
})
