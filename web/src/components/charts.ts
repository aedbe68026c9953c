// ECharts with only the chart types the console draws (tree, bar, radar) and the canvas renderer.
import { use } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import { BarChart, RadarChart, TreeChart } from 'echarts/charts'
import { GridComponent, LegendComponent, RadarComponent, TooltipComponent } from 'echarts/components'

use([CanvasRenderer, TreeChart, BarChart, RadarChart, TooltipComponent, LegendComponent, GridComponent, RadarComponent])

export { default as VChart } from 'vue-echarts'
