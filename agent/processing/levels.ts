import { isLevel, parseLevel, type Level } from '../../lib/level.ts';

/**
 * The level-word table: how a word that an application printed (`warning`, `crit`, `E`, `30`)
 * becomes one of our five levels. The configured words are looked up first (case-insensitive),
 * then the built-in spellings (lib/level.ts), so an operator only lists what differs.
 */
export class LevelTable {
  private readonly own = new Map<string, Level>();

  constructor(words: Readonly<Record<string, Level>> = {}) {
    for (const [word, level] of Object.entries(words)) this.own.set(word.toUpperCase(), level);
  }

  /** The level a word names, or undefined when neither table knows it. */
  lookup(word: string | number | boolean | undefined): Level | undefined {
    if (word === undefined || typeof word === 'boolean') return undefined;
    const text = String(word).trim();
    if (text.length === 0 || text.length > 32) return undefined;
    const upper = text.toUpperCase();
    const mine = this.own.get(upper);
    if (mine) return mine;
    if (isLevel(upper)) return upper;
    return parseLevel(upper);
  }
}
