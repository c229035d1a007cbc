/**
 * Column names in messages: how a user types one on a command line, and the suggestion for a name
 * that matches no column ("did you mean ...?"). Every error about a column the user named and the
 * table does not have builds its hint here, so the suggestion is the same everywhere.
 */

/**
 * A column name as the user would type it on a command line: as is when it is a plain word, else in
 * double quotes.
 *
 * @example cliName("age") // => "age"; cliName("home town") // => "\"home town\""
 */
export function cliName(name: string): string {
  return /^[\w.-]+$/.test(name) ? name : JSON.stringify(name);
}

/**
 * The known name closest to a mistyped one: the same letters in another case, else the one fewest
 * edits away (insertions, deletions, substitutions, swaps of neighbours), at most 2 and at most a third
 * of the name's length, so short names are not matched to anything. Ties go to the first known name.
 *
 * @example nearest("pirce", ["price", "gender"]) // => "price"
 * nearest("xyz", ["price"]) // => undefined
 */
export function nearest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The hint for a column name that matches none of `known`: the suggestion if there is one, then the
 * list of names (as typed on a command line). `known` is what the option may name (the table's
 * columns, the compared ones ...), `what` how the list is introduced.
 *
 * @example unknownColumnHint("pirce", ["price", "gender"]) // => "did you mean price? the columns are: price, gender"
 */
export function unknownColumnHint(name: string, known: readonly string[], what = "the columns are"): string {
  const near = nearest(name, known);
  return `${near === undefined ? "" : `did you mean ${cliName(near)}? `}${what}: ${known.map(cliName).join(", ")}`;
}

/**
 * "did you mean X? " for a mistyped name, or "" when no known name is close. `show` writes the name as
 * the user would (on a command line by default; in SQL for a condition, with asWritten).
 */
export function didYouMean(
  name: string,
  known: readonly string[],
  show: (name: string) => string = cliName,
): string {
  const near = nearest(name, known);
  return near === undefined ? "" : `did you mean ${show(near)}? `;
}

/**
 * The column a DuckDB binder error says a condition reads but the table lacks, e.g. `user_agee` in
 * `Binder Error: Referenced column "user_agee" not found in FROM clause!`; undefined for other errors.
 */
export function missingColumn(duckdbMessage: string): string | undefined {
  return /Referenced column "((?:[^"]|"")*)" not found/.exec(duckdbMessage)?.[1]?.replaceAll('""', '"');
}

/** Optimal string alignment distance: Levenshtein with the swap of two neighbouring letters as one edit. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    const prev = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] as number) + 1);
      }
      row[j] = d;
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
