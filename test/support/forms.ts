/**
 * The forms of a rendered page as a browser without JavaScript would submit them: each submit
 * button (with its formaction/formmethod) of each form, and the fields the form owns (nested, or
 * pointed at it with form="id"), with the values the page put in them.
 */
export interface FormSubmission {
  /** Where the browser sends it, and how. */
  method: 'get' | 'post';
  action: string;
  /** The action and the button's own name=value, to name it in a failure. */
  label: string;
  fields: Array<[string, string]>;
  /** A multipart form's file inputs, by name (`fields` holds the rest). */
  files: string[];
  multipart: boolean;
}

interface Control {
  tag: 'input' | 'select' | 'textarea' | 'button';
  attrs: Record<string, string>;
  /** A select's chosen option, or a textarea's text. */
  value?: string;
  owner: number | null;
}

const decode = (text: string) =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function attributesOf(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const match of source.matchAll(/([\w:.@-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'))?/g))
    attrs[match[1].toLowerCase()] = decode(match[2] ?? match[3] ?? '');
  return attrs;
}

const TOKENS =
  /<!--[\s\S]*?-->|<form\b([^>]*)>|<\/form>|<(input|button)\b([^>]*)>|<select\b([^>]*)>([\s\S]*?)<\/select>|<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi;

/** Parses a page's forms; `fill` gives a value to a required field the page left empty. */
export function submissionsOf(html: string, pageUrl: string, fill: (name: string, type: string) => string): FormSubmission[] {
  const forms: Record<string, string>[] = [];
  const controls: Control[] = [];
  let current: number | null = null;
  for (const match of html.matchAll(TOKENS)) {
    const [token] = match;
    if (token.startsWith('<!--')) continue;
    if (/^<form\b/i.test(token)) {
      forms.push(attributesOf(match[1]));
      current = forms.length - 1;
    } else if (/^<\/form>/i.test(token)) current = null;
    else if (match[2])
      controls.push({ tag: match[2].toLowerCase() as 'input' | 'button', attrs: attributesOf(match[3]), owner: current });
    else if (match[4] !== undefined) {
      const options = [...match[5].matchAll(/<option\b([^>]*)>([^<]*)/gi)].map((option) => ({
        attrs: attributesOf(option[1]),
        text: decode(option[2]).trim(),
      }));
      const chosen = options.find((option) => 'selected' in option.attrs) ?? options[0];
      controls.push({
        tag: 'select',
        attrs: attributesOf(match[4]),
        value: chosen ? (chosen.attrs.value ?? chosen.text) : undefined,
        owner: current,
      });
    } else controls.push({ tag: 'textarea', attrs: attributesOf(match[6]), value: decode(match[7]), owner: current });
  }
  const ids = new Map(forms.map((form, index) => [form.id, index]));
  const ownerOf = (control: Control) => (control.attrs.form !== undefined ? (ids.get(control.attrs.form) ?? -1) : control.owner);

  const submissions: FormSubmission[] = [];
  forms.forEach((form, index) => {
    const owned = controls.filter((control) => ownerOf(control) === index && !('disabled' in control.attrs));
    const fields: Array<[string, string]> = [];
    const files: string[] = [];
    const ticked = new Set<string>();
    for (const control of owned) {
      const { name } = control.attrs;
      const type = (control.attrs.type ?? (control.tag === 'input' ? 'text' : control.tag)).toLowerCase();
      if (name && control.tag === 'input' && type === 'file') files.push(name);
      if (!name || control.tag === 'button' || ['submit', 'button', 'reset', 'image', 'file'].includes(type)) continue;
      if (type === 'checkbox' || type === 'radio') {
        if ('checked' in control.attrs) {
          fields.push([name, control.attrs.value ?? 'on']);
          ticked.add(name);
        }
        continue;
      }
      let value = control.value ?? control.attrs.value ?? '';
      if (!value && 'required' in control.attrs) value = fill(name, type);
      fields.push([name, value]);
    }
    // A box or radio group nobody ticked: tick its first one, as a user completing the form would.
    for (const control of owned) {
      const type = (control.attrs.type ?? '').toLowerCase();
      const { name } = control.attrs;
      if ((type === 'checkbox' || type === 'radio') && name && !ticked.has(name)) {
        fields.push([name, control.attrs.value ?? 'on']);
        ticked.add(name);
      }
    }
    const buttons = owned.filter(
      (control) =>
        (control.tag === 'button' && (control.attrs.type ?? 'submit').toLowerCase() === 'submit') ||
        (control.tag === 'input' && ['submit', 'image'].includes((control.attrs.type ?? '').toLowerCase())),
    );
    const submitters: Array<Control | null> = buttons.length ? buttons : [null];
    for (const button of submitters) {
      const method = (button?.attrs.formmethod ?? form.method ?? 'get').toLowerCase() === 'post' ? 'post' : 'get';
      const action = button?.attrs.formaction ?? form.action ?? pageUrl;
      const extra: Array<[string, string]> = button?.attrs.name ? [[button.attrs.name, button.attrs.value ?? '']] : [];
      const label = `${action || pageUrl}${extra.length ? ` (${extra[0][0]}=${extra[0][1]})` : ''}`;
      const multipart = (form.enctype ?? '').toLowerCase() === 'multipart/form-data';
      submissions.push({ method, action: action || pageUrl, label, fields: [...fields, ...extra], files, multipart });
    }
  });
  return submissions;
}

/** The fields as an application/x-www-form-urlencoded body, repeated names kept. */
export function formBody(fields: Array<[string, string]>): string {
  return new URLSearchParams(fields).toString();
}
