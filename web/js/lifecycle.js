// The small drawing of a case's lifecycle: the workflow's main line of states in a row (from the
// initial state, each time to the successor furthest along the file's order, which is the order
// of a case's life), the side roads under the state they leave from, the states the case went
// through in green and its current state filled.

import { h } from './dom.js';

const GAP = 22, NODE_H = 34, TOP = 10, SIDE_Y = 92;

function successors(wf, name) {
  const own = wf.edges.filter((e) => e.from === name).map((e) => e.to);
  // A state without its own way on is left by a transition of any state (closing, withdrawal).
  return own.length ? own : wf.edges.filter((e) => e.from === '*').map((e) => e.to);
}

function spineOf(wf) {
  const order = new Map(wf.states.map((s, i) => [s.name, i]));
  const spine = [wf.initial];
  for (let cur = wf.initial; spine.length < wf.states.length;) {
    const next = successors(wf, cur).filter((n) => order.get(n) > order.get(cur))
      .sort((a, b) => order.get(b) - order.get(a))[0];
    if (!next || spine.includes(next)) break;
    spine.push(next);
    cur = next;
  }
  return spine;
}

/**
 * An SVG of workflow `wf` ({states, edges, initial}) with `current` marked and the states of
 * `visited` (a Set) shown as passed.
 */
export function lifecycle(wf, current, visited) {
  const title = (n) => (wf.states.find((s) => s.name === n) || { title: n }).title;
  // Wide enough for the longest name at 13 px a character.
  const W = Math.max(112, 14 * Math.max(...wf.states.map((s) => [...s.title].length)) + 24);
  const spine = spineOf(wf);
  // The states of the main line before the current one were passed, even those a case goes
  // through within one event (filed, assigned).
  visited = new Set(visited);
  visited.add(wf.initial);
  if (spine.includes(current)) spine.slice(0, spine.indexOf(current)).forEach((n) => visited.add(n));
  const side = wf.states.map((s) => s.name).filter((n) => !spine.includes(n));
  const x = new Map(spine.map((n, i) => [n, i * (W + GAP)]));
  // A side state sits under the first state of the main line that leads to it.
  const used = new Map();
  for (const n of side) {
    const from = spine.find((s) => wf.edges.some((e) => e.from === s && e.to === n)) ||
      spine.find((s) => s !== wf.initial && wf.edges.some((e) => e.from === '*' && e.to === n)) ||
      spine[spine.length - 1];
    let at = x.get(from);
    while ([...used.values()].includes(at)) at += W + GAP;
    used.set(n, at);
    x.set(n, at);
  }
  const width = Math.max(...x.values()) + W + 2;
  const height = side.length ? SIDE_Y + NODE_H + 12 : TOP + NODE_H + 12;
  const y = (n) => (spine.includes(n) ? TOP : SIDE_Y);
  const passed = [...visited].filter((n) => n !== current).map(title);
  const svg = h('svg:svg', {
    class: 'lifecycle', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': 'lifecycle-title',
  },
  h('svg:title', { id: 'lifecycle-title' },
    `案件流程图：当前状态「${title(current)}」${passed.length ? `；已经过 ${passed.join('、')}` : ''}`),
  h('svg:defs', {}, h('svg:marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5',
    markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' },
  h('svg:path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }))));
  for (let i = 0; i + 1 < spine.length; i++) {
    const a = x.get(spine[i]) + W, b = x.get(spine[i + 1]);
    svg.append(h('svg:path', { class: 'edge', d: `M${a},${TOP + NODE_H / 2} L${b - 1},${TOP + NODE_H / 2}`,
      'marker-end': 'url(#arrow)' }));
  }
  for (const n of side) {
    const cx = x.get(n) + W / 2;
    svg.append(h('svg:path', { class: 'edge', d: `M${cx},${TOP + NODE_H} L${cx},${SIDE_Y - 1}`,
      'marker-end': 'url(#arrow)' }));
  }
  for (const n of [...spine, ...side]) {
    const cls = n === current ? 'node current' : visited.has(n) ? 'node done' : 'node';
    svg.append(h('svg:g', { class: cls },
      h('svg:rect', { x: x.get(n) + 1, y: y(n), width: W - 2, height: NODE_H, rx: 6 }),
      h('svg:text', { x: x.get(n) + W / 2, y: y(n) + NODE_H / 2 + 5, 'text-anchor': 'middle' },
        (n === current ? '▶ ' : visited.has(n) ? '✓ ' : '') + title(n))));
  }
  return svg;
}
