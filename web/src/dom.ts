/** Small DOM helpers shared by the page modules that build elements (captions.ts, plan.ts). */

/** A new `<tag class="className">` holding `text` (as text, never HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** `<time datetime="iso">text</time>`. */
export function time(iso: string, text: string): HTMLTimeElement {
  const node = el("time", "", text);
  node.dateTime = iso;
  return node;
}
