// The page's words in the visitor's language. Django's JavaScriptCatalog (/jsi18n/, a script
// file loaded before the modules) puts gettext & co. on window; without it, English.
// Strings are extracted by `manage.py makemessages -d djangojs` (docs/client.md).

/** The translation of `text`. */
export function gettext(text) {
  return typeof globalThis.gettext === 'function' ? globalThis.gettext(text) : text;
}

/** The singular or plural translation for `count`. */
export function ngettext(singular, plural, count) {
  if (typeof globalThis.ngettext === 'function') return globalThis.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

/** Marks `text` for translation without translating it yet (translate with gettext later). */
export function gettext_noop(text) {
  return text;
}

/** Fills `%(name)s` placeholders: fmt(gettext('Welcome, %(name)s!'), { name }). */
export function fmt(text, values) {
  return text.replace(/%\((\w+)\)s/g, (all, key) => (key in values ? String(values[key]) : all));
}
