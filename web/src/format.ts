// How numbers, money, times and the forecast read in the console (zh-CN).
import type { Forecast } from './api/types'

const yuan = new Intl.NumberFormat('zh-CN', { style: 'currency', currency: 'CNY', maximumFractionDigits: 0 })
const plain = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 0 })

type Amount = number | string | null | undefined

/** Amounts arrive as JSON numbers or as decimal strings ("490000.00"). */
export function num(value: Amount): number | null {
  if (value === null || value === undefined || value === '') return null
  const n = typeof value === 'number' ? value : Number(value)
  return Number.isFinite(n) ? n : null
}

/** ¥490,000 — money is whole yuan in the console. */
export function money(raw: Amount): string {
  const value = num(raw)
  if (value === null) return '—'
  return yuan.format(Math.round(value))
}

/** 49万 / 1.2亿 for big figures in charts and cards, the exact amount otherwise. */
export function shortMoney(raw: Amount): string {
  const value = num(raw)
  if (value === null) return '—'
  const abs = Math.abs(value)
  if (abs >= 1e8) return `¥${trim(value / 1e8)}亿`
  if (abs >= 1e4) return `¥${trim(value / 1e4)}万`
  return `¥${plain.format(value)}`
}

function trim(n: number): string {
  return n.toFixed(2).replace(/\.?0+$/, '')
}

export function percent(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return '—'
  return `${value.toFixed(digits)}%`
}

const pad = (n: number) => String(n).padStart(2, '0')

/** 2026-11-30 14:05 in the browser's zone. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—'
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso
  return dateTime(iso).slice(0, 10)
}

/** How long ago, in days: 今天, 3天. */
export function ageDays(iso: string, now: Date = new Date()): string {
  const days = Math.floor((now.getTime() - new Date(iso).getTime()) / 86_400_000)
  return days <= 0 ? '今天' : `${days}天`
}

export interface ForecastSummary {
  total: string
  reliability: string
  reliable: boolean
  interval: string
  target: string
  gap: string
  gapTone: 'success' | 'danger' | 'info'
  suggested: string | null
}

/** The forecast panel's sentences: weighted total, 可靠/不可靠 (n 个商机), 90 % interval, target and gap. */
export function summarizeForecast(f: Forecast): ForecastSummary {
  const level = Math.round((f.interval?.level ?? 0.9) * 100)
  const reliability = f.reliable
    ? `可靠（${f.sample_size} 个商机）`
    : `不可靠（仅 ${f.sample_size} 个商机，至少需要 ${f.min_sample} 个）`
  let gap = '未设目标'
  let gapTone: ForecastSummary['gapTone'] = 'info'
  const target = num(f.target)
  const gapValue = num(f.gap)
  if (target !== null && gapValue !== null) {
    if (gapValue > 0) {
      gap = `差距 ${money(gapValue)}`
      gapTone = 'danger'
    } else {
      gap = `超出目标 ${money(-gapValue)}`
      gapTone = 'success'
    }
  }
  return {
    total: money(f.weighted_total),
    reliability,
    reliable: f.reliable,
    interval: f.interval ? `${level}% 区间 ${money(f.interval.low)} – ${money(f.interval.high)}` : '—',
    target: target === null ? '未设目标' : money(target),
    gap,
    gapTone,
    suggested: f.suggested_target ? money(f.suggested_target) : null,
  }
}

/** The period a forecast is for: this month as YYYY-MM. */
export function currentPeriod(now: Date = new Date()): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}`
}

/** A search snippet from the server ("…<mark>报价</mark>…", the rest already escaped) with nothing
 * but the <mark> tags left as HTML. */
export function markedHtml(snippet: string | null | undefined): string {
  if (!snippet) return ''
  return snippet
    .replace(/<mark>/g, '\u0001')
    .replace(/<\/mark>/g, '\u0002')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\u0001/g, '<mark>')
    .replace(/\u0002/g, '</mark>')
}
