// While the console is open: poll the in-app notifications so that a reminder that falls due (and
// any alarm, duplicate or dispute notice) pops up within seconds, with the unread count in the header.
import { defineStore } from 'pinia'
import { api, ApiError, type Notification } from '../api'

export const POLL_MS = 2000

export const useAlerts = defineStore('alerts', {
  state: () => ({
    unread: 0,
    popups: [] as Notification[],
    seen: new Set<number>(),
    timer: null as ReturnType<typeof setTimeout> | null,
    running: false,
  }),
  actions: {
    start() {
      if (this.running) return
      this.running = true
      const tick = async () => {
        if (!this.running) return
        await this.poll()
        if (this.running) this.timer = setTimeout(tick, POLL_MS)
      }
      void tick()
    },
    stop() {
      this.running = false
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
      this.popups = []
      this.seen = new Set()
      this.unread = 0
    },
    async poll() {
      try {
        const list = await api.notifications({ unread: true, limit: 20 })
        this.unread = list.unread_count
        // oldest first, so the newest ends on top of the stack
        for (const n of [...list.notifications].reverse()) {
          if (this.seen.has(n.id)) continue
          this.seen.add(n.id)
          this.popups.push(n)
        }
      } catch (error) {
        if (!(error instanceof ApiError)) throw error
        // a failed poll is tried again at the next tick; a 401 already sent the user to the login page
      }
    },
    /** 知道了: acknowledges the reminder behind the notice (no SMS will follow) and marks it read. */
    async acknowledge(n: Notification): Promise<string | null> {
      let status: string | null = null
      if (n.reminder_id) {
        try {
          status = (await api.ackReminder(n.reminder_id)).status
        } catch (error) {
          if (!(error instanceof ApiError) || error.code !== 'reminder_closed') throw error
        }
      }
      await api.readNotification(n.id)
      this.popups = this.popups.filter((p) => p.id !== n.id)
      this.unread = Math.max(0, this.unread - 1)
      return status
    },
    dismiss(n: Notification) {
      this.popups = this.popups.filter((p) => p.id !== n.id)
    },
  },
})
