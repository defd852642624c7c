// The case page: where the case is in its lifecycle, the parties (masked for roles that do not
// need them), deadlines and timers with what is left, the open and done tasks, the documents,
// and the timeline of who did what.  Without a case number it is the case search.

import { api } from '../api.js';
import { $, fill, h, param } from '../dom.js';
import { DEADLINES, EVENT_TYPES, TASK_STATUS, TIMERS, leftText, when, who } from '../names.js';
import { engineNow, postTitle, refuse, start, stateTitle, workflow } from '../shell.js';
import { lifecycle } from '../lifecycle.js';
import { openDecision } from '../taskform.js';

let me;
const caseUrl = (no, rest = '') => `/api/v1/cases/${encodeURIComponent(no)}${rest}`;

function search(q) {
  fill($('main'),
    h('h1', {}, '案件查询'),
    h('form', { class: 'panel toolbar', role: 'search', onsubmit: (ev) => {
      ev.preventDefault();
      const v = $('#cq').value.trim();
      history.replaceState(null, '', v ? `?q=${encodeURIComponent(v)}` : '?');
      results(v);
    } },
    h('div', { class: 'field grow' }, h('label', { for: 'cq' }, me.role === 'auditor'
      ? '案号（或其中一部分）' : '案号（或其中一部分），或当事人全名'),
    h('input', { id: 'cq', type: 'search', value: q || '' })),
    h('button', { type: 'submit', class: 'primary' }, '查询')),
    h('div', { id: 'results' }));
  results(q || '');
}

async function results(q) {
  const out = $('#results');
  try {
    const { data } = await api('GET', `/api/v1/cases?limit=50${q ? `&q=${encodeURIComponent(q)}` : ''}`);
    if (!data.cases.length) {
      fill(out, h('p', { class: 'muted' }, '没有找到案件。'));
      return;
    }
    fill(out, h('table', { class: 'grid' },
      h('caption', { class: 'muted' }, `共 ${data.total} 件，最近变动的在前`),
      h('thead', {}, h('tr', {}, ['案号', '状态', '承办', '申请执行人', '被执行人', '最近变动']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, data.cases.map((c) => h('tr', {},
        h('td', {}, h('a', { href: `/case.html?no=${encodeURIComponent(c.case)}` }, c.case)),
        h('td', {}, stateTitle(workflow(c.workflow, c.version), c.state)),
        h('td', {}, c.team ? postTitle(c.team) : '—'),
        h('td', {}, (c.applicants || []).map((p) => p.name).join('、')),
        h('td', {}, (c.respondents || []).map((p) => p.name).join('、')),
        h('td', { class: 'nowrap' }, when(c.updated_at)))))));
  } catch (e) {
    fill(out, h('p', { class: 'error' }, `查询失败：${e.message}`));
  }
}

function parties(title, list) {
  return h('div', {}, h('h3', {}, title),
    (list || []).length ? h('ul', {}, list.map((p) => h('li', {},
      h('strong', {}, p.name || '—'),
      p.id_number ? h('span', { class: 'muted' }, `　证件号 ${p.id_number}`) : null,
      p.address ? h('div', { class: 'muted' }, `地址：${p.address}`) : null,
      p.phone ? h('div', { class: 'muted' }, `电话：${p.phone}`) : null)))
      : h('p', { class: 'muted' }, '无'));
}

function money(v) {
  return typeof v === 'number' ? `${v.toLocaleString('zh-CN')} 元` : String(v ?? '—');
}

async function show(no) {
  let c;
  try {
    c = (await api('GET', caseUrl(no))).data;
  } catch (e) {
    refuse(e.status === 404
      ? (me.role === 'staff' ? `没有这个案件，或它不在您岗位（${postTitle(me.post)}）的办理范围内。` : '没有这个案件。')
      : `案件载入失败：${e.message}`, '/case.html', '无法打开此案件');
    return;
  }
  const [tasks, timeline, docs, now, decisions] = await Promise.all([
    api('GET', caseUrl(c.case, '/tasks')).then((r) => r.data.tasks).catch(() => []),
    api('GET', caseUrl(c.case, '/timeline')).then((r) => r.data.timeline).catch(() => []),
    api('GET', caseUrl(c.case, '/documents')).then((r) => r.data.documents).catch(() => []),
    engineNow(me),
    me.role === 'staff'
      ? api('GET', caseUrl(c.case, '/decisions')).then((r) => r.data.decisions).catch(() => [])
      : Promise.resolve(null),
  ]);
  const wf = workflow(c.workflow, c.version);
  const titles = new Map(tasks.map((t) => [t.id, t.title]));
  const visited = new Set(timeline.flatMap((e) => [e.from, e.to]).filter(Boolean));
  document.title = `${c.case} · 执行指挥中心`;
  const d = c.data || {};
  fill($('main'),
    h('div', { class: 'case-head' },
      h('h1', {}, c.case),
      h('span', { class: 'state badge new' }, c.state_title || stateTitle(wf, c.state)),
      c.team ? h('span', { class: 'muted' }, `承办：${postTitle(c.team)}`) : null,
      h('span', { class: 'muted' }, `立案 ${when(d.filed_at || c.created_at)}`)),
    wf ? h('section', { class: 'panel', 'aria-labelledby': 'lc' }, h('h2', { id: 'lc' }, '流程进度'),
      lifecycle(wf, c.state, visited)) : null,
    h('div', { class: 'cols' },
      h('section', { class: 'panel', 'aria-labelledby': 'p' }, h('h2', { id: 'p' }, '当事人与标的'),
        h('dl', { class: 'facts' },
          h('dt', {}, '案由'), h('dd', {}, d.cause || '—'),
          h('dt', {}, '执行依据'), h('dd', {}, d.basis ? `${d.basis.court_name || ''} ${d.basis.document_no || ''}` : '—'),
          h('dt', {}, '执行标的'), h('dd', {}, money(d.amount))),
        parties('申请执行人', d.applicants), parties('被执行人', d.respondents),
        me.role === 'auditor' ? h('p', { class: 'muted' }, '审计角色只能看到脱敏后的当事人信息。') : null),
      h('section', { class: 'panel', 'aria-labelledby': 'dl' }, h('h2', { id: 'dl' }, '期限与定时'),
        h('table', { class: 'grid' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '期限'), h('th', { scope: 'col' }, '时间'),
            h('th', { scope: 'col' }, '剩余'))),
          h('tbody', {},
            Object.entries(c.deadlines || {}).map(([k, v]) => h('tr', {},
              h('td', {}, DEADLINES[k] || k), h('td', { class: 'nowrap' }, when(v)),
              h('td', { class: Date.parse(v) < Date.parse(now) ? 'error' : null }, leftText(v, now)))),
            Object.entries(c.timers || {}).sort((a, b) => Date.parse(a[1]) - Date.parse(b[1]))
              .map(([k, v]) => h('tr', {},
                h('td', {}, TIMERS[k] || k, h('span', { class: 'muted' }, '（定时）')),
                h('td', { class: 'nowrap' }, when(v)), h('td', {}, leftText(v, now)))))),
        h('p', { class: 'muted' }, `按引擎时钟 ${when(now)} 计算。`))),
    decisions ? h('section', { class: 'panel', 'aria-labelledby': 'dc' }, h('h2', { id: 'dc' }, '决定'),
      decisions.length
        ? h('div', { class: 'toolbar decisions' }, decisions.map((dc) => h('button', {
          type: 'button', 'data-decision': dc.decision,
          onclick: () => openDecision(c.case, dc, wf, () => show(c.case)),
        }, dc.title)))
        : h('p', { class: 'muted' }, `您的岗位（${postTitle(me.post)}）目前不能对本案作出决定。`)) : null,
    h('section', { class: 'panel', 'aria-labelledby': 'tk' }, h('h2', { id: 'tk' }, '任务'),
      h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, ['事项', '岗位', '状态', '截止时间', '办理人'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, tasks.slice().sort((a, b) => (a.status === 'open' || a.status === 'claimed' ? 0 : 1) -
          (b.status === 'open' || b.status === 'claimed' ? 0 : 1)).map((t) => h('tr', {},
          h('td', {}, t.worker ? t.title : h('a', { href: `/task.html?id=${encodeURIComponent(t.id)}` }, t.title)),
          h('td', {}, t.worker ? '系统自动' : postTitle(t.post)),
          h('td', {}, h('span', { class: `badge ${t.status === 'done' ? 'ok' : t.status === 'failed' ? 'bad' : ''}` },
            t.worker && t.status === 'open' ? '排队处理' : TASK_STATUS[t.status] || t.status)),
          h('td', { class: 'nowrap' }, when(t.due)),
          h('td', {}, t.claimed_by || '')))))),
    h('section', { class: 'panel', 'aria-labelledby': 'docs' }, h('h2', { id: 'docs' }, '文书'),
      docs.length ? h('ul', {}, docs.map((doc) => h('li', {},
        me.role === 'auditor' ? doc.name
          : h('a', { href: caseUrl(c.case, `/documents/${doc.index}`), target: '_blank', rel: 'noopener' },
            `${doc.name}（PDF，${doc.pages} 页）`),
        h('span', { class: 'muted' }, `　${when(doc.made_at)}`))))
        : h('p', { class: 'muted' }, '尚未制作文书。')),
    h('section', { class: 'panel', 'aria-labelledby': 'tl' }, h('h2', { id: 'tl' }, '办理经过'),
      h('ol', { class: 'timeline' }, timeline.slice().reverse().map((e) => h('li', {},
        h('div', {}, h('strong', {}, EVENT_TYPES[e.type] || e.type),
          e.data && e.data.task_id && titles.has(e.data.task_id) ? `：${titles.get(e.data.task_id)}` : '',
          e.type === 'timer.fired' && e.data ? `：${TIMERS[e.data.timer] || e.data.timer}` : '',
          e.from !== e.to ? h('span', { class: 'muted' }, `　${e.from ? stateTitle(wf, e.from) : ''} → ${stateTitle(wf, e.to)}`) : null),
        h('div', { class: 'meta' }, `${when(e.time)}　${who(e.source, postTitle)}`,
          e.data && e.data.reason ? `　理由：${e.data.reason}` : ''))))),
    me.role === 'lead' || me.role === 'auditor'
      ? h('p', {}, h('a', { href: `/replay.html?case=${encodeURIComponent(c.case)}` }, '审计回放此案件')) : null);
}

async function main() {
  me = await start(['staff', 'lead', 'auditor']);
  if (!me) return;
  const no = param('no');
  if (no) await show(no);
  else search(param('q'));
}

main();
