import { parse } from 'yaml';
import { isBundled, readAssetText } from '../assets.ts';
import { formatTemplate, FormatError } from './format.ts';

/** Languages shipped in locales/<lang>.yaml. */
export const BUILTIN_LANGUAGES = ['en', 'zh'] as const;

/** A source of templates consulted before the built-in catalogue (lang plugins). */
export type TemplateResolver = (langKey: string, lang: string) => string | null;

function flatten(obj: unknown, prefix: string, out: Map<string, string>): void {
  if (obj === null || typeof obj !== 'object') return;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else flatten(v, key, out);
  }
}

/** Parses a locale YAML document (nested keys) into dotted key → template. */
export function parseLocale(text: string): Map<string, string> {
  const out = new Map<string, string>();
  flatten(parse(text), '', out);
  return out;
}

/** The asset a bundle carries beside locales/<lang>.yaml: its table as one JSON object (toolchain/bundle.ts). */
export function localeTableAsset(yamlPath: string): string {
  return yamlPath.replace(/\.yaml$/, '.table.json');
}

/**
 * A built-in language's table (locales/<lang>.yaml). A bundle has it flattened to JSON at build
 * time: parsing the YAML took about 3 ms of every start of the executable (the start-up line is
 * rendered from it).
 */
export function builtinTable(lang: string): Map<string, string> {
  const path = `locales/${lang}.yaml`;
  if (isBundled()) return new Map(Object.entries(JSON.parse(readAssetText(localeTableAsset(path))) as Record<string, string>));
  return parseLocale(readAssetText(path));
}

/**
 * The locale catalogue: nested YAML keys joined with dots, one file per language. Lookups go
 * through the registered resolvers first (lang plugins, in order), then the built-in files.
 * The current language can be switched at run time (`logloom lang set zh`).
 */
export class Catalogue {
  /** Built-in languages' tables, read on first use. */
  private readonly tables = new Map<string, Map<string, string> | undefined>();
  private readonly resolvers: TemplateResolver[] = [];
  private current: string;
  readonly defaultLanguage = 'en';
  private warn: (msg: string) => void;

  constructor(language: string, warn: (msg: string) => void = () => {}) {
    this.warn = warn;
    for (const lang of BUILTIN_LANGUAGES) this.tables.set(lang, undefined);
    this.current = this.defaultLanguage;
    this.setLanguage(language);
  }

  private table(lang: string): Map<string, string> | undefined {
    if (!this.tables.has(lang)) return undefined;
    let t = this.tables.get(lang);
    if (t === undefined) this.tables.set(lang, (t = builtinTable(lang)));
    return t;
  }

  get language(): string {
    return this.current;
  }

  /** Languages known: the built-in files plus any that resolvers answer for are accepted. */
  hasLanguage(lang: string): boolean {
    return this.tables.has(lang);
  }

  /** Switches language; an unknown one falls back to the default with one warning. Returns the language in force. */
  setLanguage(lang: string): string {
    if (this.tables.has(lang) || this.resolverKnows(lang)) {
      this.current = lang;
    } else {
      this.warn(this.render('i18n.unknown_language', [lang, this.defaultLanguage], this.defaultLanguage));
      this.current = this.defaultLanguage;
    }
    return this.current;
  }

  private resolverKnows(lang: string): boolean {
    // A language provided only by a plugin counts as known when it resolves our own status key.
    return this.resolvers.some((r) => r('i18n.language_name', lang) !== null);
  }

  addResolver(resolver: TemplateResolver): void {
    this.resolvers.push(resolver);
  }

  removeResolver(resolver: TemplateResolver): void {
    const i = this.resolvers.indexOf(resolver);
    if (i >= 0) this.resolvers.splice(i, 1);
  }

  /** The template for a key, or undefined. Falls back to the default language's file. */
  template(langKey: string, lang: string = this.current): string | undefined {
    for (const r of this.resolvers) {
      try {
        const t = r(langKey, lang);
        if (typeof t === 'string') return t;
      } catch {
        // A failing lang plugin must not break rendering; the supervisor counts its errors.
      }
    }
    return this.table(lang)?.get(langKey) ?? this.table(this.defaultLanguage)?.get(langKey);
  }

  /** Renders a key with args; never throws: problems render as `[FORMAT ERROR: why] [KEY: key]`. */
  render(langKey: string, args: readonly (string | number)[] = [], lang: string = this.current): string {
    const t = this.template(langKey, lang);
    if (t === undefined) return `[FORMAT ERROR: missing key] [KEY: ${langKey}]`;
    try {
      return formatTemplate(t, args);
    } catch (e) {
      if (e instanceof FormatError) return `[FORMAT ERROR: ${e.message}] [KEY: ${langKey}]`;
      throw e;
    }
  }
}
