import { describe, expect, it } from 'vitest'
import { ageDays, currentPeriod, money, percent, shortMoney, summarizeForecast } from './format'
import type { Forecast } from './api/types'

function forecast(over: Partial<Forecast>): Forecast {
  return {
    weighted_total: 490000, stages: [], sample_size: 100, min_sample: 14, reliable: true,
    interval: { low: 420000, high: 560000, level: 0.9 }, target: null, gap: null, period: '2026-12',
    ...over,
  } as Forecast
}

describe('money and numbers', () => {
  it('formats whole yuan with separators', () => {
    expect(money(490000)).toBe('¥490,000')
    expect(money(1234.6)).toBe('¥1,235')
    expect(money(null)).toBe('—')
  })
  it('shortens big amounts to 万 and 亿', () => {
    expect(shortMoney(490000)).toBe('¥49万')
    expect(shortMoney(125000)).toBe('¥12.5万')
    expect(shortMoney(320000000)).toBe('¥3.2亿')
    expect(shortMoney(9800)).toBe('¥9,800')
  })
  it('formats percentages and ages', () => {
    expect(percent(25)).toBe('25%')
    expect(percent(33.333, 1)).toBe('33.3%')
    expect(ageDays('2026-11-27T10:00:00Z', new Date('2026-11-30T12:00:00Z'))).toBe('3天')
    expect(ageDays('2026-11-30T10:00:00Z', new Date('2026-11-30T12:00:00Z'))).toBe('今天')
    expect(currentPeriod(new Date(2026, 0, 5))).toBe('2026-01')
  })
})

describe('the forecast panel', () => {
  it('reads the worked example: 490,000, reliable with 100 deals, the 90 % interval', () => {
    const s = summarizeForecast(forecast({}))
    expect(s.total).toBe('¥490,000')
    expect(s.reliability).toBe('可靠（100 个商机）')
    expect(s.interval).toBe('90% 区间 ¥420,000 – ¥560,000')
    expect(s.target).toBe('未设目标')
    expect(s.gap).toBe('未设目标')
  })
  it('flags a thin sample as unreliable with the count', () => {
    const s = summarizeForecast(forecast({ reliable: false, sample_size: 9 }))
    expect(s.reliable).toBe(false)
    expect(s.reliability).toBe('不可靠（仅 9 个商机，至少需要 14 个）')
  })
  it('shows the gap to the target, or how far above it the forecast is', () => {
    const behind = summarizeForecast(forecast({ target: 588000, gap: 98000, suggested_target: 588000 }))
    expect(behind.target).toBe('¥588,000')
    expect(behind.gap).toBe('差距 ¥98,000')
    expect(behind.gapTone).toBe('danger')
    expect(behind.suggested).toBe('¥588,000')
    const ahead = summarizeForecast(forecast({ target: 400000, gap: -90000 }))
    expect(ahead.gap).toBe('超出目标 ¥90,000')
    expect(ahead.gapTone).toBe('success')
  })
})

describe('search highlights', () => {
  it('keeps the marks and nothing else as HTML', async () => {
    const { markedHtml } = await import('./format')
    expect(markedHtml('客户嫌<mark>报价</mark>高 &amp; 急')).toBe('客户嫌<mark>报价</mark>高 &amp; 急')
    expect(markedHtml('<img src=x onerror=alert(1)><mark>a</mark>')).toBe('&lt;img src=x onerror=alert(1)&gt;<mark>a</mark>')
    expect(markedHtml(null)).toBe('')
  })
})
