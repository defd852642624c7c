// The auditor's replay: a case's events with the check of each one's link in the hash chain,
// the case replayed through the workflow version it was filed under and compared with what is
// stored, as of a chosen date.  An event whose stored content no longer gives its hash (changed
// behind the engine's back) is shown plainly, in red, with what is wrong.

import { api } from '../api.js';
import { $, fill, h, param } from '../dom.js';
import { EVENT_TYPES, when, who } from '../names.js';
import { postTitle, start, stateTitle, workflow } from '../shell.js';

function form(no, asOf) {
  return h('form', { class: 'panel toolbar', id: 'replay-form', onsubmit: (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    const c = $('#rcase').value.trim(), d = $('#ras-of').value;
    if (!c) {
      $('#rcase').setAttribute('aria-invalid', 'true');
      $('#rcase').focus();
      return;
    }
    q.set('case', c);
    if (d) q.set('as_of', d);
    history.replaceState(null, '', `?${q}`);
    show(c, d);
  } },
  h('div', { class: 'field grow' }, h('label', { for: 'rcase' }, '案号'),
    h('input', { id: 'rcase', value: no || '', placeholder: '(2026)豫0381执1234号', required: true })),
  h('div', { class: 'field' }, h('label', { for: 'ras-of' }, '截至日期（不填为全部）'),
    h('input', { id: 'ras-of', type: 'date', value: asOf || '' })),
  h('button', { type: 'submit', class: 'primary' }, '回放并验证'));
}

/* What the engine says went wrong (in English, for the record) in a sentence for the auditor,
 * with the engine's own words under it. */
function problem(text) {
  const seq = /at seq (\d+)/.exec(text);
  const said = text.startsWith('broken') ? `自第 ${seq ? seq[1] : '?'} 号事件起链条断裂。`
    : text.startsWith('differs at') ? `自第 ${seq ? seq[1] : '?'} 号事件起重放结果与记录不一致。`
      : text.startsWith('differs') ? '回放得到的状态与存储的状态不一致。' : '';
  return h('div', {}, said ? h('div', { class: 'error' }, said) : null,
    h('div', { class: 'mono muted', lang: 'en' }, text));
}

/* "ok", or the text of a problem, as a badge. */
function verdict(text, okWord, badWord) {
  return text === 'ok' ? h('span', { class: 'badge ok' }, `✓ ${okWord}`)
    : h('span', { class: 'badge bad' }, `✗ ${badWord}`);
}

async function show(no, asOf) {
  const out = $('#replay');
  fill(out, h('p', { class: 'muted' }, '正在回放…'));
  let d, titles;
  try {
    d = (await api('GET', `/api/v1/cases/${encodeURIComponent(no)}/replay${asOf ? `?as_of=${asOf}` : ''}`)).data;
    titles = new Map((await api('GET', `/api/v1/cases/${encodeURIComponent(no)}/tasks`)
      .then((r) => r.data.tasks).catch(() => [])).map((t) => [t.id, t.title]));
  } catch (e) {
    fill(out, h('p', { class: 'error', role: 'alert' }, e.status === 404 ? '没有这个案件。' : `回放失败：${e.message}`));
    return;
  }
  const wf = workflow(d.workflow, d.version);
  const v = d.verification;
  const broken = d.timeline.filter((e) => e.link !== 'ok');
  fill(out,
    h('section', { class: 'panel', 'aria-labelledby': 'vh', id: 'verdict' },
      h('h2', { id: 'vh' }, v.ok ? '验证通过' : '验证未通过',
        ' ', v.ok ? h('span', { class: 'badge ok' }, '✓ 记录完整') : h('span', { class: 'badge bad' }, '✗ 记录异常')),
      h('div', { class: 'summary' },
        h('span', { class: 'muted' }, '案件'), h('span', {}, h('a', { href: `/case.html?no=${encodeURIComponent(d.case)}` }, d.case),
          `　${wf ? wf.title : d.workflow} 第 ${d.version} 版`),
        h('span', { class: 'muted' }, '哈希链'), h('span', { id: 'chain-verdict' }, verdict(v.chain, '每个环节都已验证', '链条断裂'),
          v.chain === 'ok' ? ` 共 ${d.events} 个事件` : problem(v.chain)),
        h('span', { class: 'muted' }, '重放'), h('span', {}, verdict(v.replay, '与记录一致', '与记录不一致'),
          v.replay === 'ok' ? ` 重放了 ${d.replayed} 个事件` : problem(v.replay)),
        h('span', { class: 'muted' }, '最终状态'), h('span', {},
          v.final_state === 'ok' ? verdict('ok', '与当前存储一致', '') :
            v.final_state.startsWith('not compared') ? h('span', { class: 'badge' }, '未比较（截至所选日期）')
              : [verdict(v.final_state, '', '不一致'), problem(v.final_state)],
          d.state ? `　回放得到的状态：${stateTitle(wf, d.state.state)}` : ''),
        asOf ? [h('span', { class: 'muted' }, '截至'), h('span', {}, asOf)] : null),
      broken.length ? h('p', { class: 'error', role: 'alert' },
        `发现 ${broken.length} 个事件与其哈希不符：第 ${broken.map((e) => e.seq).join('、')} 号。` +
        '这些事件在写入后被改动过（或其前后事件被删改），其内容不可采信。') : null),
    h('section', { class: 'panel', 'aria-labelledby': 'eh' },
      h('h2', { id: 'eh' }, '事件与哈希链'),
      h('table', { class: 'grid', id: 'events' },
        h('thead', {}, h('tr', {}, ['序号', '时间', '事件', '操作人', '状态变化', '哈希链', '重放']
          .map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, d.timeline.map((e) => h('tr', { class: e.link === 'ok' ? null : 'broken', 'data-seq': e.seq },
          h('td', { class: 'num' }, String(e.seq)),
          h('td', { class: 'nowrap' }, when(e.time)),
          h('td', {}, EVENT_TYPES[e.type] || e.type,
            e.data && titles.has(e.data.task_id) ? `：${titles.get(e.data.task_id)}` : '',
            h('div', { class: 'mono muted' }, e.id)),
          h('td', {}, who(e.source, postTitle)),
          h('td', {}, e.from === e.to ? h('span', { class: 'muted' }, '—')
            : `${e.from ? stateTitle(wf, e.from) : ''} → ${stateTitle(wf, e.to)}`),
          h('td', {}, e.link === 'ok'
            ? [h('span', { class: 'badge ok' }, '✓ 已验证'), h('div', { class: 'mono muted' }, `${(e.hash || '').slice(0, 12)}…`)]
            : [h('span', { class: 'badge bad' }, '✗ 哈希不符'), h('div', { class: 'mono error', lang: 'en' }, e.link)]),
          h('td', {}, e.replay === 'ok' ? h('span', { class: 'badge ok' }, '一致')
            : e.replay === 'differs' ? h('span', { class: 'badge bad' }, '不一致')
              : h('span', { class: 'muted' }, e.replay === 'not replayed' ? '未回放' : '未比较'))))))));
}

async function main() {
  const me = await start(['lead', 'auditor']);
  if (!me) return;
  const no = param('case'), asOf = param('as_of');
  fill($('main'), h('h1', {}, '审计回放'),
    h('p', { class: 'muted' }, '逐个验证事件的哈希链，并按立案时的流程版本重放，与存储的案件状态比对。'),
    form(no, asOf), h('div', { id: 'replay', 'aria-live': 'polite' }));
  if (no) await show(no, asOf);
}

main();
