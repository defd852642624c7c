// The command center's wall (for the lead): cases per state, open and overdue work per post,
// dead letters and the outbox, refreshed every 10 s by itself.  The chart of cases per state
// over time is drawn from the samples this screen took (kept for the tab's life), so a wall
// left on all day shows the day.

import { api } from '../api.js';
import { $, fill, h } from '../dom.js';
import { leftText, when } from '../names.js';
import { postTitle, say, start, stateTitle, workflow } from '../shell.js';

const REFRESH_MS = 10000;
const KEY = 'cf-wall-samples', TITLES = 'cf-wall-titles';
let samples = [];
let titles = new Map();

function loadSamples() {
  try {
    samples = JSON.parse(sessionStorage.getItem(KEY) || '[]');
    titles = new Map(JSON.parse(sessionStorage.getItem(TITLES) || '[]'));
  } catch {
    samples = [];
  }
}

function layout() {
  fill($('main'),
    h('div', { class: 'case-head' }, h('h1', {}, '执行指挥中心 · 指挥大屏'),
      h('span', { id: 'updated', class: 'live on', 'aria-live': 'off' }, '正在载入…')),
    h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    h('section', { class: 'tiles', 'aria-label': '总览', id: 'tiles' }),
    h('div', { class: 'wall-grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'by-state' },
        h('h2', { id: 'by-state' }, '各状态案件数'), h('div', { id: 'states' }), h('div', { id: 'chart' })),
      h('div', {},
        h('section', { class: 'panel', 'aria-labelledby': 'by-post' },
          h('h2', { id: 'by-post' }, '各岗位待办与逾期'), h('div', { id: 'posts' })),
        h('section', { class: 'panel', 'aria-labelledby': 'late' },
          h('h2', { id: 'late' }, '逾期待办（逾期最久的在前）'), h('div', { id: 'overdue' })))));
}

function tile(label, value, alert, id) {
  return h('div', { class: `tile${alert ? ' alert' : ''}`, id },
    h('div', { class: 'label' }, label), h('div', { class: 'value' }, String(value)));
}

/* Cases per state of each workflow, in the order of a case's life. */
function stateRows(stats) {
  const out = [];
  for (const [name, counts] of Object.entries(stats.cases || {})) {
    const wf = workflow(name);
    const order = wf ? wf.states.map((s) => s.name) : Object.keys(counts);
    for (const st of order)
      if (counts[st]) out.push({ key: `${name}:${st}`, title: stateTitle(wf, st), n: counts[st],
        final: wf && (wf.states.find((s) => s.name === st) || {}).final, wf: wf ? wf.title : name });
  }
  return out;
}

function render(stats) {
  const states = stateRows(stats);
  const open = states.filter((s) => !s.final).reduce((a, s) => a + s.n, 0);
  const postRows = Object.entries(stats.tasks || {}).filter(([p]) => p !== '-').map(([p, st]) => ({
    post: p, open: st.open || 0, claimed: st.claimed || 0, overdue: (stats.overdue || {})[p] || 0,
  })).filter((r) => r.open + r.claimed + r.overdue > 0)
    .sort((a, b) => b.overdue - a.overdue || b.open + b.claimed - a.open - a.claimed);
  const waiting = postRows.reduce((a, r) => a + r.open + r.claimed, 0);
  const overdue = postRows.reduce((a, r) => a + r.overdue, 0);
  fill($('#tiles'),
    tile('在办案件', open, false, 'tile-open'),
    tile('全部案件', states.reduce((a, s) => a + s.n, 0), false, 'tile-cases'),
    tile('待办任务', waiting, false, 'tile-tasks'),
    tile('逾期任务', overdue, overdue > 0, 'tile-overdue'),
    tile('死信（被拒事件）', stats.dead_letters, stats.dead_letters > 0, 'tile-dead'),
    tile('待发送消息', stats.outbox, stats.outbox > 100, 'tile-outbox'));
  const max = Math.max(1, ...states.map((s) => s.n));
  fill($('#states'), states.length ? h('table', { class: 'grid bars', id: 'state-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '状态'), h('th', { scope: 'col', class: 'num' }, '案件'),
      h('th', { scope: 'col' }, h('span', { class: 'muted' }, '占比')))),
    h('tbody', {}, states.map((s) => {
      const bar = h('div', { class: 'bar' });
      bar.style.width = `${(100 * s.n) / max}%`;
      return h('tr', { 'data-state': s.key }, h('td', {}, s.title,
        Object.keys(stats.cases).length > 1 ? h('span', { class: 'muted' }, `（${s.wf}）`) : null),
      h('td', { class: 'num' }, String(s.n)), h('td', { class: 'barcell' }, bar));
    }))) : h('p', { class: 'muted' }, '还没有案件。'));
  const pmax = Math.max(1, ...postRows.map((r) => r.open + r.claimed));
  fill($('#posts'), postRows.length ? h('table', { class: 'grid bars', id: 'post-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '岗位'), h('th', { scope: 'col', class: 'num' }, '待领取'),
      h('th', { scope: 'col', class: 'num' }, '已领取'), h('th', { scope: 'col', class: 'num' }, '逾期'),
      h('th', { scope: 'col' }, h('span', { class: 'muted' }, '待办量')))),
    h('tbody', {}, postRows.map((r) => {
      const bar = h('div', { class: `bar${r.overdue ? ' overdue' : ''}` });
      bar.style.width = `${(100 * (r.open + r.claimed)) / pmax}%`;
      return h('tr', { 'data-post': r.post },
        h('td', {}, h('a', { href: `/?post=${encodeURIComponent(r.post)}` }, postTitle(r.post))),
        h('td', { class: 'num' }, String(r.open)), h('td', { class: 'num' }, String(r.claimed)),
        h('td', { class: `num${r.overdue ? ' error' : ''}` }, String(r.overdue)),
        h('td', { class: 'barcell' }, bar));
    })),
    h('caption', { class: 'muted' }, '含系统集约任务（六查、送达等）；逾期只计人工任务')) : h('p', { class: 'muted' }, '没有待办。'));
  chart(states);
  fill($('#updated'), `更新于 ${new Date().toLocaleTimeString('zh-CN', { hour12: false })} · 每 10 秒自动刷新 · 引擎时钟 ${when(stats.clock && stats.clock.now)}`);
}

/* Lines of the open states' counts over the samples taken. */
function chart(states) {
  const now = Date.now();
  samples.push({ t: now, c: Object.fromEntries(states.filter((s) => !s.final).map((s) => [s.key, s.n])) });
  samples = samples.filter((s) => now - s.t < 12 * 3600 * 1000).slice(-720);
  sessionStorage.setItem(KEY, JSON.stringify(samples));
  for (const s of states) titles.set(s.key, s.title);
  sessionStorage.setItem(TITLES, JSON.stringify([...titles]));
  // Every open state seen in the samples, also one no case is in now (it drops to 0).
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.c)))].map((key) => ({ key, title: titles.get(key) || key }));
  const W = 640, H = 170, L = 36, B = 22;
  const top = Math.max(1, ...samples.flatMap((s) => keys.map((k) => s.c[k.key] || 0)));
  const t0 = samples[0].t, span = Math.max(1, now - t0);
  const colours = ['#1d5bb8', '#b42318', '#17703a', '#8a4b00', '#6b3fa0', '#0e7c86', '#5f6b7a', '#c2185b'];
  const svg = h('svg:svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title' },
    h('svg:title', { id: 'chart-title' }, `在办案件各状态数量随时间的变化（本屏自 ${new Date(t0).toLocaleTimeString('zh-CN', { hour12: false })} 起的 ${samples.length} 次采样）`),
    h('svg:line', { x1: L, y1: H - B, x2: W, y2: H - B, stroke: '#8a95a3' }),
    h('svg:text', { x: 2, y: 12 }, String(top)), h('svg:text', { x: 2, y: H - B }, '0'),
    h('svg:text', { x: L, y: H - 4 }, new Date(t0).toLocaleTimeString('zh-CN', { hour12: false })),
    h('svg:text', { x: W - 60, y: H - 4 }, '现在'));
  keys.forEach((k, i) => {
    const pts = samples.map((s) => `${L + ((W - L - 4) * (s.t - t0)) / span},${H - B - ((H - B - 16) * (s.c[k.key] || 0)) / top}`);
    if (pts.length === 1) pts.push(pts[0].replace(/^[\d.]+/, String(W - 4)));
    svg.append(h('svg:polyline', { points: pts.join(' '), fill: 'none', stroke: colours[i % colours.length], 'stroke-width': 2 }));
  });
  fill($('#chart'), h('h3', {}, '在办案件走势'), svg,
    h('p', { class: 'muted' }, keys.map((k, i) => h('span', { class: 'nowrap' },
      h('span', { 'aria-hidden': 'true', class: `swatch s${i % colours.length}` }, '■'), ` ${k.title}　`))));
}

/* The overdue staff tasks of the posts that have any, the longest overdue first (at most 12). */
async function overdue(stats) {
  const postsLate = Object.entries(stats.overdue || {}).filter(([, n]) => n > 0).map(([p]) => p);
  const lists = await Promise.all(postsLate.map((p) =>
    api('GET', `/api/v1/posts/${encodeURIComponent(p)}/tasks?overdue=true&limit=12`)
      .then((r) => r.data).catch(() => null)));
  const now = (lists.find(Boolean) || {}).now || (stats.clock && stats.clock.now);
  const tasks = lists.filter(Boolean).flatMap((l) => l.tasks)
    .sort((a, b) => Date.parse(a.due) - Date.parse(b.due)).slice(0, 12);
  fill($('#overdue'), tasks.length ? h('table', { class: 'grid', id: 'overdue-table' },
    h('thead', {}, h('tr', {}, ['案号', '事项', '岗位', '截止时间', '逾期'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, tasks.map((t) => h('tr', {},
      h('td', { class: 'nowrap' }, h('a', { href: `/case.html?no=${encodeURIComponent(t.case)}` }, t.case)),
      h('td', {}, t.title), h('td', {}, postTitle(t.post)),
      h('td', { class: 'nowrap' }, when(t.due)),
      h('td', { class: 'nowrap error' }, leftText(t.due, now).replace('已逾期 ', '')))))
  ) : h('p', { class: 'muted' }, '没有逾期的待办。'));
}

async function refresh() {
  try {
    const stats = (await api('GET', '/api/v1/stats')).data;
    render(stats);
    await overdue(stats);
    say('');
  } catch (e) {
    say(`刷新失败：${e.message}（稍后自动重试）`, 'error');
  }
}

async function main() {
  const me = await start(['lead']);
  if (!me) return;
  loadSamples();
  layout();
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

main();
