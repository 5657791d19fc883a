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

/** Whether a key press is typing into a form field (shortcuts must then stay out of the way). */
function isTyping(target) {
  return Boolean(target?.closest?.("input, select, textarea, [contenteditable]"));
}

/** A plain key press, without modifiers or auto-repeat: what a shortcut listens for. */
export function isShortcut(event) {
  return !(event.repeat || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target));
}

/** Loads a classic script once (e.g. a vendor library); resolves when it has run. */
const scripts = new Map();
export function loadScript(src) {
  if (!scripts.has(src)) {
    scripts.set(
      src,
      new Promise((resolve, reject) => {
        const el = document.createElement("script");
        el.src = src;
        el.onload = () => resolve();
        el.onerror = () => {
          scripts.delete(src); // let a later attempt try again
          reject(new Error(`could not load ${src}`));
        };
        document.head.append(el);
      }),
    );
  }
  return scripts.get(src);
}
