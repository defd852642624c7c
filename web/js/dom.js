// Building the page from data: elements are made with text nodes only, never from HTML strings,
// so that nothing a case or a person's name holds can become markup or script.

/**
 * h('a', {href: '/x', class: 'btn'}, 'text', child, ...) makes an element.
 * Attributes: `class`, `text`, `on<event>` (a listener), boolean true/false, anything else
 * set as an attribute.  Children: strings (as text), nodes, arrays of them; null is skipped.
 */
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** The value of query parameter `name` of this page's address. */
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}
