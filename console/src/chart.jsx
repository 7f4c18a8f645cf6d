// SPDX-License-Identifier: MIT
// chart.jsx — a uPlot time-series chart as a Preact component: created
// once, fed new data with setData, resized with its container. uPlot
// draws on a canvas and sets styles through the CSSOM, which the
// console's CSP (style-src 'self') allows.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

// windowS: the seconds the x axis spans, ending at the newest sample.
export function Chart({ label, series, data, windowS, height = 220 }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    const opts = {
      width: Math.max(300, el.clientWidth),
      height,
      scales: { x: { time: true, range: (u, min, max) => [max - windowS, max] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { label: 'per second', size: 60 }],
      series: [{ label: 'time' }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2,
        value: (u, v) => (v == null ? '–' : v.toFixed(1)) }))],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current.setSize({ width: Math.max(300, el.clientWidth), height }));
    ro.observe(el);
    return () => { ro.disconnect(); plot.current.destroy(); plot.current = null; };
  }, []);
  useEffect(() => { if (plot.current) plot.current.setData(data); }, [data]);
  return <figure class="chart" aria-label={label}><div ref={box} /></figure>;
}
