import { defineStore } from 'pinia'
import { api, tokenStore, type User } from '../api'

export const useAuth = defineStore('auth', {
  state: () => ({ user: null as User | null, token: tokenStore.get() }),
  getters: {
    loggedIn: (s) => !!s.token,
    isManager: (s) => s.user?.role === 'manager' || s.user?.role === 'admin',
    isAdmin: (s) => s.user?.role === 'admin',
  },
  actions: {
    async login(username: string, password: string) {
      const token = await api.login(username, password)
      tokenStore.set(token.access_token)
      this.token = token.access_token
      this.user = await api.me()
    },
    async loadUser() {
      if (this.token && !this.user) this.user = await api.me()
      return this.user
    },
    logout() {
      tokenStore.clear()
      this.token = null
      this.user = null
    },
  },
})
