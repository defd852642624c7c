// The frame's one script (app.html): the page the path names — /case.html is js/pages/case.js,
// / is js/pages/index.js — with its title.  The server answers every page's path with the frame.

const TITLES = {
  index: '我的待办',
  case: '案件',
  task: '任务',
  wall: '指挥大屏',
  replay: '审计回放',
  accounts: '账号管理',
};

const name = location.pathname.match(/^\/([a-z]+)\.html$/)?.[1] || 'index';
if (TITLES[name]) {
  document.title = `${TITLES[name]} · 执行指挥中心`;
  import(`./pages/${name}.js`);
} else {
  location.replace('/404.html');
}
