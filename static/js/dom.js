// Small DOM helpers shared by the views. Writes happen only when a value changes, so a view
// can be repainted every animation frame without touching the layout needlessly.

export function byId(id) {
  return document.getElementById(id);
}

export function element(tag, className, parent) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (parent) parent.append(el);
  return el;
}

export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets an attribute, or removes it when value is null. */
export function setAttr(el, name, value) {
  if (value === null) {
    el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}
