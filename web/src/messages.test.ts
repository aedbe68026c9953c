import { describe, expect, it } from 'vitest'
import { errorMessages, fieldMessage, messageFor } from './messages'

describe('error messages', () => {
  it('has a Chinese message for every code the API documents', () => {
    const codes = [
      'validation_error', 'malformed_json', 'unauthenticated', 'invalid_token', 'bad_credentials', 'forbidden',
      'not_found', 'conflict', 'service_unavailable', 'service_timeout', 'internal_error', 'duplicate_customer',
      'alarm_required', 'immutable_record', 'not_your_customer', 'customer_in_pool', 'not_in_pool', 'claim_exists',
      'already_decided', 'unknown_stage', 'already_in_stage', 'opportunity_closed', 'reminder_closed',
      'not_owner', 'already_voted', 'own_entry', 'alarm_not_open', 'username_taken', 'reason_required',
      'referral_cycle', 'stage_in_use', 'invalid_stage_set', 'not_manager', 'not_raiser', 'concurrent_change',
      'cannot_deactivate_self', 'unknown_colleague', 'colleague_not_eligible',
    ]
    for (const code of codes) {
      expect(errorMessages[code], code).toMatch(/[\u4e00-\u9fff]/)
    }
  })

  it('uses the code first, then the status', () => {
    expect(messageFor('alarm_required', 409)).toBe('放弃客户或退回公海前需要有经理已回复的困难报警')
    expect(messageFor('something_new', 403)).toBe('没有权限进行此操作')
    expect(messageFor(undefined, 418)).toBe('请求失败（418）')
  })

  it('translates the usual field messages and keeps the original', () => {
    expect(fieldMessage(['Missing data for required field.'])).toBe('必填（Missing data for required field.）')
    expect(fieldMessage(['Not a valid integer.'])).toContain('请输入数字')
    expect(fieldMessage('whatever')).toBe('whatever')
  })
})
