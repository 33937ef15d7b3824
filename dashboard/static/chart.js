// Stacked bar charts in plain SVG (no chart library).
const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#6d3fd6", "#14a37f", "#e07b00", "#2e90fa", "#d92d78", "#667085", "#a15c07", "#0e7090"];

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// labels: x labels; series: [{name, values}]; fmt: value -> text (axis and tooltips)
export function stackedBars({ labels, series, fmt, title }) {
  const W = 760, H = 220, L = 64, B = 26, T = 10;
  const n = labels.length;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const max = Math.max(1e-12, ...totals);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H + 24}`, class: "chart", role: "img", "aria-label": title || "chart" });
  for (let k = 0; k <= 4; k++) {
    const y = T + (H - T - B) * (1 - k / 4);
    svg.append(el("line", { x1: L, x2: W - 6, y1: y, y2: y, stroke: "#e4e7ec" }));
    svg.append(el("text", { x: L - 6, y: y + 4, "text-anchor": "end", "font-size": 10, fill: "#667085" }, fmt(max * k / 4)));
  }
  const bw = (W - L - 10) / Math.max(1, n);
  labels.forEach((lab, i) => {
    let y = H - B;
    series.forEach((s, si) => {
      const v = s.values[i] || 0;
      if (!v) return;
      const h = (H - T - B) * v / max;
      y -= h;
      const r = el("rect", { x: L + i * bw + 2, y, width: Math.max(1, bw - 4), height: h, fill: PALETTE[si % PALETTE.length] });
      r.append(el("title", {}, `${s.name} · ${lab}: ${fmt(v)}`));
      svg.append(r);
    });
    if (n <= 12 || i % Math.ceil(n / 8) === 0)
      svg.append(el("text", { x: L + i * bw + bw / 2, y: H - B + 14, "text-anchor": "middle", "font-size": 10, fill: "#667085" }, lab));
  });
  let x = L;
  series.forEach((s, si) => {
    svg.append(el("rect", { x, y: H + 8, width: 10, height: 10, rx: 2, fill: PALETTE[si % PALETTE.length] }));
    const t = el("text", { x: x + 14, y: H + 17, "font-size": 11, fill: "#1b1f2a" }, s.name);
    svg.append(t);
    x += 24 + s.name.length * 7;
  });
  return svg;
}
