// Short-lived notes at the bottom of the stage, and human wording for server errors.
import { h } from './dom.js';
import { gettext, gettext_noop } from '../i18n.js';

const ERRORS = {
  rate_limited: gettext_noop('Easy there — you are doing that a bit too fast.'),
  world_full: gettext_noop('The town is full right now. Try again in a little while.'),
  world_frozen: gettext_noop('The town is frozen for the moment. Nothing can change until it resumes.'),
  not_signed_in: gettext_noop('Please sign in first.'),
  not_player: gettext_noop('Join the town first to do that.'),
  forbidden: gettext_noop('You are not allowed to do that.'),
  not_found: gettext_noop('They are not here any more.'),
  conflict: gettext_noop('That cannot happen right now — maybe they are busy.'),
  too_large: gettext_noop('That was too long to send.'),
  invalid: gettext_noop('That did not work.'),
  bad_json: gettext_noop('Something went wrong talking to the town.'),
  unknown_type: gettext_noop('The town did not understand that.'),
};

export function humanError(err) {
  const base = ERRORS[err.code] && gettext(ERRORS[err.code]);
  if (err.code === 'invalid' || err.code === 'conflict') return err.message ? `${base} (${err.message})` : base;
  return base || err.message || gettext('Something went wrong.');
}

export class Toasts {
  constructor(root) {
    this.root = root;
  }

  show(text, { tone = 'info', ms = 4500 } = {}) {
    const el = h('div', { class: `toast toast--${tone}`, role: tone === 'error' ? 'alert' : 'status', testid: 'toast' }, text);
    this.root.append(el);
    while (this.root.children.length > 3) this.root.firstElementChild.remove();
    setTimeout(() => {
      el.classList.add('is-leaving');
      setTimeout(() => el.remove(), 300);
    }, ms);
    return el;
  }

  error(frame) {
    return this.show(humanError(frame), { tone: 'error', ms: 6000 });
  }
}
