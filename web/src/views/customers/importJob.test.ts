import { describe, expect, it } from 'vitest'
import { isRunning, percentDone, REPORT_PAGE, reportRowsWanted } from './importJob'

describe('an import job followed by the console', () => {
  it('runs while queued or running, not once finished or failed', () => {
    expect(isRunning({ state: 'queued' })).toBe(true)
    expect(isRunning({ state: 'running' })).toBe(true)
    expect(isRunning({ state: 'finished' })).toBe(false)
    expect(isRunning({ state: 'failed' })).toBe(false)
  })

  it('fills the bar by rows done of the whole file', () => {
    expect(percentDone({ rows_done: 0, total_rows: 100_000 })).toBe(0)
    expect(percentDone({ rows_done: 33_500, total_rows: 100_000 })).toBe(34)
    expect(percentDone({ rows_done: 100_000, total_rows: 100_000 })).toBe(100)
    expect(percentDone({ rows_done: 0, total_rows: 0 })).toBe(0)
  })

  it('asks for one report row a poll while running and the report page at the end', () => {
    expect(reportRowsWanted({ state: 'running' })).toBe(1)
    expect(reportRowsWanted({ state: 'queued' })).toBe(1)
    expect(reportRowsWanted({ state: 'finished' })).toBe(REPORT_PAGE)
    expect(reportRowsWanted({ state: 'failed' })).toBe(REPORT_PAGE)
  })
})
