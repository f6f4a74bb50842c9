// Mounts a uPlot chart (a canvas) and keeps it as wide as its box; redrawn when its data changes.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { ChartSpec } from './charts';

export function Chart({ spec, label }: { spec: ChartSpec; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const plot = new uPlot(spec.options(Math.max(300, el.clientWidth)), spec.data, el);
    const resize = new ResizeObserver(() => {
      const width = Math.max(300, el.clientWidth);
      if (width !== plot.width) plot.setSize({ width, height: plot.height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [spec]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}
