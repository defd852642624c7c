// What the workplace calls things, in Chinese, and how it writes times.  Posts and states are
// named by the workflows themselves (GET /api/v1/workflows); the words here are the engine's.

export const ROLES = {
  staff: '岗位人员', lead: '执行局领导', auditor: '审计', admin: '系统管理员', ingest: '接口账号',
};

export const TASK_STATUS = {
  open: '待领取', claimed: '已领取', done: '已办结', failed: '失败', returned: '已退回',
  cancelled: '已撤销',
};

export const EVENT_TYPES = {
  'case.filed': '立案', 'case.corrected': '立案信息补正', 'case.withdrawn': '申请撤回',
  'case.decided': '结案决定', 'payment.received': '案款到账', 'task.completed': '任务完成',
  'task.failed': '任务失败', 'task.returned': '任务退回', 'timer.fired': '定时提醒',
  'clock.advance': '时钟推进',
};

export const TIMERS = {
  query_day_15: '第15日查控提醒', query_day_30: '第30日查控提醒', query_day_45: '第45日查控提醒',
  handling_warning: '执行期限届满前提醒', handling_limit: '执行期限届满',
  archive_warning: '归档提醒', requery: '终本案件定期查控',
};

export const DEADLINES = {
  handling_deadline: '执行期限', terminate_earliest: '终本最早日期', next_requery: '下次终本查控',
};

export const WORKER_KINDS = {
  documents: '文书制作', service: '集约送达', network_query: '网络查控（总对总）',
  six_checks: '六查', auction: '询价评估拍卖', archive: '卷宗归档',
};

// The court's time zone: dates are the court's calendar dates wherever the browser is.
const ZONE = 'Asia/Shanghai';
const dayFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
});
const timeFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
  minute: '2-digit', hour12: false,
});

/** "2026-03-02" of an ISO time, in the court's zone. */
export function day(iso) {
  if (!iso) return '';
  const p = Object.fromEntries(dayFmt.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}

/** "2026-03-02 17:30" of an ISO time, in the court's zone. */
export function when(iso) {
  if (!iso) return '';
  const p = Object.fromEntries(timeFmt.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour === '24' ? '00' : p.hour}:${p.minute}`;
}

/** Whole calendar days from `now` to `iso` (negative: past), by the court's dates. */
export function daysUntil(iso, now) {
  const a = Date.parse(day(now) + 'T00:00:00Z'), b = Date.parse(day(iso) + 'T00:00:00Z');
  return Math.round((b - a) / 86400000);
}

/** "还剩 12 天", "今日到期", "已逾期 3 天". */
export function leftText(iso, now) {
  const d = daysUntil(iso, now);
  if (Date.parse(iso) < Date.parse(now)) return d === 0 ? '已到期' : `已逾期 ${-d} 天`;
  return d === 0 ? '今日到期' : `还剩 ${d} 天`;
}

/** A source of an event, as people read it: "staff:intake:wangfang" is wangfang of 集约启动岗. */
export function who(source, postTitle) {
  if (!source) return '';
  const [kind, a, b] = source.split(':');
  if (kind === 'staff') return `${b || ''}（${postTitle(a)}）`;
  if (kind === 'worker') return `${WORKER_KINDS[a] || a}（系统）`;
  if (kind === 'engine' || kind === 'timer' || kind === 'caseflow') return '系统';
  if (kind === 'filing') return '立案系统';
  return source;
}
