/** Assigns status names: the configured name, else the type, numbered when a type repeats. */
export function inputNames(inputs: readonly { name?: string; type: string }[]): string[] {
  const count = new Map<string, number>();
  return inputs.map((i) => {
    if (i.name) return i.name;
    const n = (count.get(i.type) ?? 0) + 1;
    count.set(i.type, n);
    return n === 1 ? i.type : `${i.type}${n}`;
  });
}
