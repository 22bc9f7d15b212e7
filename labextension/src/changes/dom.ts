/**
 * The two DOM helpers the review's widgets share.
 */

/**
 * A new element with a class and a text.
 */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/**
 * Set a node's text only when it differs (no needless DOM mutation, screen readers stay quiet).
 */
export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

/**
 * A real button (keyboard reachable, focus visible) with a label and a longer
 * accessible description.
 */
export function button(className: string, label: string, description = ''): HTMLButtonElement {
  const node = element('button', `jp-mcp-ext-Button ${className}`.trim(), label);
  node.type = 'button';
  if (description) {
    node.title = description;
    node.setAttribute('aria-label', description);
  }
  return node;
}
