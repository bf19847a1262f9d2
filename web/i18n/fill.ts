/**
 * Fills a catalog text's `{name}` placeholders (web/i18n/en.ts).
 * @param template a text with placeholders, e.g. "Talk with {name}"
 * @param values the placeholders' values, by name; a placeholder without one is left as written
 * @returns the text with every known placeholder replaced
 */
export function fill(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}
