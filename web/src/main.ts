import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'element-plus/theme-chalk/base.css'
import './styles.css'
import App from './App.vue'
import { router, sessionExpired } from './router'
import { onUnauthorized } from './api'
import { useAlerts } from './stores/alerts'

const app = createApp(App)
app.use(createPinia())
app.use(router)

// An expired or invalid token: back to the login page with a message, then to where the user was.
onUnauthorized(() => {
  useAlerts().stop()
  sessionExpired()
})

app.mount('#app')
