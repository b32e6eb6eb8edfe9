// Modal dialogs on native <dialog>: focus trapped, Esc closes, focus returns where it was.

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.hidden && el.offsetParent !== null);
}

/** Keep Tab / Shift+Tab inside `root`. Returns a function that removes the trap. */
export function trapFocus(root) {
  const onKey = (e) => {
    if (e.key !== 'Tab') return;
    const items = focusables(root);
    if (!items.length) return;
    const first = items[0];
    const last = items.at(-1);
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  root.addEventListener('keydown', onKey);
  return () => root.removeEventListener('keydown', onKey);
}

export class Dialog {
  constructor(el) {
    this.el = el;
    this.returnTo = null;
    this._untrap = null;
    el.addEventListener('click', (e) => {
      if (e.target.closest('[data-close]')) this.close();
      else if (e.target === el) this.close(); // click on the backdrop
    });
    el.addEventListener('close', () => {
      this._untrap?.();
      this._untrap = null;
      this.returnTo?.focus?.();
    });
  }

  get isOpen() {
    return this.el.open;
  }

  open(focusEl) {
    if (this.el.open) return;
    this.returnTo = document.activeElement;
    this.el.showModal(); // native: Esc closes, the rest of the page is inert
    this._untrap = trapFocus(this.el);
    (focusEl || focusables(this.el)[0])?.focus();
  }

  close() {
    if (this.el.open) this.el.close();
  }
}
