import { describe, expect, it } from 'vitest'
import { ApiError, type PoolRules } from '../../api'
import { changedRules, limitRefusal, poolCauseName, poolWhy } from './pool'

describe('why a customer is in the pool', () => {
  it("shows the pool rules' own words for a return, and names it", () => {
    const entry = { pool_cause: 'no_followup' as const, pool_reason: '超过 30 天未跟进，自动退回公海', pooled_from_name: '张三' }
    expect(poolWhy(entry)).toBe('超过 30 天未跟进，自动退回公海')
    expect(poolCauseName(entry)).toBe('超期未跟进')
    expect(poolCauseName({ pool_cause: 'no_won_deal' })).toBe('超期未成交')
  })

  it('names who released, gave up or left, with their reason', () => {
    expect(poolWhy({ pool_cause: 'released', pool_reason: '客户搬迁到外地', pooled_from_name: '张三' })).toBe('张三主动退回：客户搬迁到外地')
    expect(poolWhy({ pool_cause: 'abandoned', pool_reason: '预算取消', pooled_from_name: '李四' })).toBe('李四放弃：预算取消')
    expect(poolWhy({ pool_cause: 'offboarding', pool_reason: '员工离职交接（wu）', pooled_from_name: '吴六' })).toBe('吴六已离职，客户退回团队公海')
    expect(poolCauseName({ pool_cause: 'offboarding' })).toBe('离职交接')
  })

  it('reads older entries without a cause as given up, and a missing name as the former owner', () => {
    expect(poolWhy({ pool_cause: null, pool_reason: '不做了', pooled_from_name: null })).toBe('前负责人放弃：不做了')
    expect(poolCauseName({ pool_cause: null })).toBe('退回公海')
  })
})

describe('a refused 领取 said plainly', () => {
  it('gives the daily limit with its number', () => {
    const e = new ApiError(409, 'daily_take_limit_reached', '今日领取已达上限', { taken_today: 2, limit: 2 })
    expect(limitRefusal(e)).toBe('今天已领取 2 个客户，达到团队每人每天的上限，明天再来领取')
  })

  it('gives the cool-down with its days and the day it ends', () => {
    const until = new Date(2026, 11, 7, 10, 0).toISOString()
    const e = new ApiError(409, 'pool_cooldown', '…', { until, cooldown_days: 7 })
    expect(limitRefusal(e)).toBe('这个客户是从你名下退回公海的，退回公海未满 7 天，2026-12-07 之后才能再领取')
  })

  it('gives the holding limit with what the salesperson holds', () => {
    const e = new ApiError(409, 'customer_limit_reached', '…', { held: 300, limit: 300 })
    expect(limitRefusal(e)).toBe('你名下已有 300 个客户，达到团队每人 300 个的上限，请先跟进或退回一些客户')
  })

  it('falls back to the code\'s message without details, and leaves other errors alone', () => {
    expect(limitRefusal(new ApiError(409, 'daily_take_limit_reached', '', null))).toBe('今天从公海领取的客户数已达上限')
    expect(limitRefusal(new ApiError(409, 'not_in_pool', '', null))).toBeNull()
    expect(limitRefusal(new Error('boom'))).toBeNull()
  })
})

describe('the pool rules form', () => {
  const saved: PoolRules = { followup_days: 30, won_deal_days: 90, warning_days: 3, max_customers: 300, max_daily_takes: 20, cooldown_days: 7 }

  it('sends only what changed', () => {
    expect(changedRules(saved, { ...saved })).toEqual({})
    expect(changedRules(saved, { ...saved, followup_days: 15, cooldown_days: 0 })).toEqual({ followup_days: 15, cooldown_days: 0 })
    expect(changedRules(null, saved)).toEqual(saved)
  })

  it("puts the server's refusals beside their fields, in Chinese", () => {
    const e = new ApiError(400, 'validation_error', 'invalid', {
      warning_days: ['the warning must come before the return'],
      max_daily_takes: ['Must be greater than or equal to 0 and less than or equal to 100000.'],
    })
    const errors = e.fieldErrors
    expect(errors.warning_days).toMatch(/^提醒天数必须小于未跟进退回天数/)
    expect(errors.max_daily_takes).toMatch(/^数值超出范围/)
  })
})
